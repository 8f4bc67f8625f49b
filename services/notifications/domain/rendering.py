"""Turning a message into what a channel carries, in the recipient's language.

Templates live in ``templates/<language>/<kind>.j2``, one file per message kind with
three blocks: ``subject`` and ``body`` for email, ``sms`` for a text message. A
language's directory is searched first, then English, so a missing translation
(or an unknown language) falls back to English template by template. Webhooks
get JSON, which needs no translation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from services.notifications.domain import message as m

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class EmailContent:
    subject: str
    body: str
    language: str  # the language actually used, for the Content-Language header


class Renderer:
    """Renders messages; ``base_url`` is the gateway's public root for links.

    Rendering raises ``jinja2.TemplateNotFound`` when even English lacks the kind's
    template and ``jinja2.UndefinedError`` when a template uses a name the context
    does not have: both are programming errors, caught by the template tests.
    """

    def __init__(self, base_url: str, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.base_url = base_url.rstrip("/")
        self.templates_dir = templates_dir
        self._environments: dict[tuple[str, ...], Environment] = {}

    def email(self, message: m.Message, language: str = FALLBACK_LANGUAGE,
              timezone: str = "UTC") -> EmailContent:
        template, used, context = self._prepare(message, language, timezone)
        subject = " ".join(_block(template, "subject", context).split())
        return EmailContent(subject, _block(template, "body", context).strip() + "\n", used)

    def sms(self, message: m.Message, language: str = FALLBACK_LANGUAGE,
            timezone: str = "UTC") -> str:
        template, _, context = self._prepare(message, language, timezone)
        return " ".join(_block(template, "sms", context).split())

    def webhook_body(self, message: m.Message) -> bytes:
        """The JSON body of docs/api.md, as the exact bytes that are signed and sent."""
        body = {
            "id": message.id,
            "type": message.kind,
            "occurred_at": _utc_iso(message.occurred_at),
            "data": dict(message.data),
            "links": self.links(message),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def links(self, message: m.Message) -> dict[str, str]:
        """Where the recipient reads the details, behind the gateway's authentication."""
        data, base = message.data, f"{self.base_url}/v1"
        links: dict[str, str] = {}
        if data.get("referral_id"):
            links["referral"] = f"{base}/referrals/{quote(data['referral_id'], safe='')}"
        if message.kind == m.MATCH_PROPOSED:
            links["matches"] = f"{base}/matches?status=proposed"
        if message.kind == m.MENTOR_CERTIFICATION_EXPIRING:
            links["mentors"] = f"{base}/mentors"
        return links

    def language_for(self, language: str) -> str:
        """The template language ``language`` resolves to (e.g. ``es-MX`` -> ``es``)."""
        return self._search_path(language)[0]

    def _prepare(self, message: m.Message, language: str,
                 timezone: str) -> tuple[Template, str, dict[str, Any]]:
        path = self._search_path(language)
        env = self._environment(tuple(path))
        locale = _locale(path[0])
        zone = ZoneInfo(timezone)
        context = {
            **message.data,
            "kind": message.kind,
            "message_id": message.id,
            "urgent": message.urgency == "urgent",
            "when": _local(message.occurred_at, zone, locale),
            "expires": _local(message.data.get("expires_at"), zone, locale),
            "score_text": _number(message.data.get("score"), locale),
            "links": self.links(message),
        }
        return env.get_template(f"{message.kind}.j2"), path[0], context

    def _search_path(self, language: str) -> list[str]:
        candidates = []
        try:
            locale = Locale.parse(str(language).replace("-", "_"))
            if locale.territory:
                candidates.append(f"{locale.language}_{locale.territory}")
            candidates.append(locale.language)
        except (UnknownLocaleError, ValueError, TypeError):
            pass  # an unknown language reads English
        candidates.append(FALLBACK_LANGUAGE)
        found = [c for c in dict.fromkeys(candidates) if (self.templates_dir / c).is_dir()]
        return found or [FALLBACK_LANGUAGE]

    def _environment(self, path: tuple[str, ...]) -> Environment:
        if path not in self._environments:
            env = Environment(
                loader=FileSystemLoader([self.templates_dir / p for p in path]),
                autoescape=False,  # plain text, never HTML
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            # Status and reason labels come from the same language search path.
            env.globals["labels"] = env.get_template("_labels.j2").module
            self._environments[path] = env
        return self._environments[path]


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(context)))


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK_LANGUAGE)


def _local(value: datetime | str | None, zone: ZoneInfo, locale: Locale) -> str | None:
    if value is None:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{format_datetime(at, 'medium', tzinfo=zone, locale=locale)} ({zone.key})"


def _number(value: float | None, locale: Locale) -> str | None:
    return None if value is None else format_decimal(value, "0.00", locale=locale)


def _utc_iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
