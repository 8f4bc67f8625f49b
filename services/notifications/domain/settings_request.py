"""Validating ``PUT /v1/notification-settings`` into an agency's new settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from services.kit import vocabulary as v
from services.kit.errors import InvalidRequest
from services.notifications.domain import message as m
from services.notifications.domain.destinations import is_refused_host
from services.notifications.domain.settings import (
    CHANNEL_NEEDS,
    DEFAULT_CHANNELS,
    AgencySettings,
    QuietHours,
    new_webhook_secret,
)

_FIELDS = {"webhook_url", "email", "phone", "language", "quiet_hours", "channels",
           "rotate_webhook_secret"}
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class SettingsChange:
    settings: AgencySettings
    revealed_secret: str | None  # show once in the response, never again


@dataclass(frozen=True)
class WebhookPolicy:
    """Where webhooks may point. Production: HTTPS to public hosts only.

    Local development and tests receive on 127.0.0.1 and turn both off in config
    (``WEBHOOK_REQUIRE_HTTPS``, ``WEBHOOK_ALLOW_PRIVATE_HOSTS``).
    """

    require_https: bool = True
    allow_private_hosts: bool = False


def apply_settings(
    agency_id: str,
    agency_kind: str,
    roles: tuple[str, ...] | list[str],
    body: Mapping[str, Any],
    current: AgencySettings | None = None,
    webhooks: WebhookPolicy = WebhookPolicy(),
) -> SettingsChange:
    """Validate a settings request and return the agency's new settings (PUT: replace).

    A webhook secret is generated when a webhook URL is first set or when the body
    asks ``"rotate_webhook_secret": true``; it is dropped with the URL. Raises
    ``InvalidRequest`` with ``errors={field: [messages]}`` naming every bad field.
    """
    errors: dict[str, list[str]] = {}
    if agency_kind not in v.CALLER_KINDS:
        errors.setdefault("agency_kind", []).append(f"must be one of {', '.join(v.CALLER_KINDS)}")
    for role in roles:
        if role not in v.ROLES:
            errors.setdefault("roles", []).append(f"unknown role {role!r}")
    if not isinstance(body, Mapping):
        raise InvalidRequest("settings must be a JSON object", errors={"body": ["not an object"]})
    for name in sorted(set(body) - _FIELDS):
        errors.setdefault(name, []).append("unknown field")
    settings = AgencySettings(
        agency_id=agency_id, agency_kind=agency_kind, roles=tuple(roles),
        webhook_url=_webhook_url(body.get("webhook_url"), errors, webhooks),
        email=_matching(body.get("email"), v.is_email, "email", "is not an email address", errors),
        phone=_matching(body.get("phone"), v.is_phone, "phone", "must be E.164, e.g. +15555550100",
                        errors),
        language=_language(body.get("language") or "en", errors),
        quiet_hours=_quiet_hours(body.get("quiet_hours"), errors),
    )
    settings = replace(settings, channels=_channels(body.get("channels"), settings, errors))
    if errors:
        raise InvalidRequest("invalid notification settings", errors=errors)
    return _with_secret(settings, current, bool(body.get("rotate_webhook_secret")))


def _with_secret(settings: AgencySettings, current: AgencySettings | None,
                 rotate: bool) -> SettingsChange:
    if settings.webhook_url is None:
        return SettingsChange(settings, None)
    kept = current.webhook_secret if current else None
    if kept and not rotate:
        return SettingsChange(replace(settings, webhook_secret=kept), None)
    secret = new_webhook_secret()
    return SettingsChange(replace(settings, webhook_secret=secret), secret)


def _webhook_url(value: Any, errors: dict[str, list[str]], policy: WebhookPolicy) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 2048:
        errors["webhook_url"] = ["must be a URL of at most 2048 characters"]
        return None
    schemes = ("https",) if policy.require_https else ("http", "https")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port out of range or not a number raises here
    except ValueError:
        errors["webhook_url"] = [f"must be an {' or '.join(schemes)} URL with a host"]
        return value
    if parts.scheme not in schemes or not parts.hostname:
        errors["webhook_url"] = [f"must be an {' or '.join(schemes)} URL with a host"]
    elif parts.username or parts.password:
        # Credentials in a URL end up in logs; the signature authenticates instead.
        errors["webhook_url"] = ["must not contain a user name or password"]
    elif not policy.allow_private_hosts and is_refused_host(parts.hostname):
        # A webhook must not make the network call into its own private addresses (SSRF). A
        # name is checked again, with every address it resolves to, each time it is sent to.
        errors["webhook_url"] = ["must point at a public host"]
    return value


def _matching(value: Any, valid: Callable[[str], bool], name: str, problem: str,
              errors: dict[str, list[str]]) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not valid(value):
        errors[name] = [problem]
    return value


def _language(value: Any, errors: dict[str, list[str]]) -> str:
    try:
        Locale.parse(str(value).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        errors["language"] = ["is not a known language tag, e.g. en or es-MX"]
        return "en"
    return str(value)


def _quiet_hours(value: Any, errors: dict[str, list[str]]) -> QuietHours | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors["quiet_hours"] = ["must be an object with start, end and timezone"]
        return None
    clock: dict[str, time] = {}
    for end in ("start", "end"):
        match = _CLOCK.match(str(value.get(end, "")))
        if match:
            clock[end] = time(int(match[1]), int(match[2]))
        else:
            errors[f"quiet_hours.{end}"] = ["must be a 24-hour time HH:MM"]
    zone = value.get("timezone")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        errors["quiet_hours.timezone"] = ["is not an IANA time zone, e.g. America/New_York"]
    if len(clock) == 2 and clock["start"] == clock["end"]:
        errors["quiet_hours"] = ["start and end must differ"]
    if len(clock) < 2 or "quiet_hours.timezone" in errors:
        return None
    return QuietHours(clock["start"], clock["end"], str(zone))


def _channels(value: Any, settings: AgencySettings,
              errors: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    if value is None:
        return dict(DEFAULT_CHANNELS)
    if not isinstance(value, Mapping):
        errors["channels"] = ["must map channels to lists of message kinds"]
        return dict(DEFAULT_CHANNELS)
    chosen = dict(DEFAULT_CHANNELS)
    for channel, kinds in value.items():
        key = f"channels.{channel}"
        if channel not in v.CHANNELS:
            errors[key] = [f"unknown channel; use {', '.join(v.CHANNELS)}"]
        elif not isinstance(kinds, list) or any(k not in m.MESSAGE_KINDS for k in kinds):
            errors[key] = [f"must list message kinds from {', '.join(m.MESSAGE_KINDS)}"]
        elif kinds and not getattr(settings, CHANNEL_NEEDS[channel]):
            errors[key] = [f"needs {CHANNEL_NEEDS[channel]} to be set"]
        else:
            chosen[channel] = frozenset(kinds)
    return chosen
