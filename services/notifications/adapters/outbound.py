"""The notifications service's way out, from config: its senders, its dispatch policy, a nameko provider.

Config keys (see config.yml): ``PUBLIC_BASE_URL``, ``WEBHOOK_TIMEOUT_SECONDS``,
``SMTP_HOST``/``_PORT``/``_USERNAME``/``_PASSWORD``/``_STARTTLS``/``_SENDER``/``_TIMEOUT_SECONDS``,
``SMS_BASE_URL``/``_ACCOUNT_SID``/``_AUTH_TOKEN``/``_FROM_NUMBER``/``_TIMEOUT_SECONDS``
(SMS is off while ``SMS_ACCOUNT_SID`` is empty), ``DELIVERY_RETRY`` (``max_attempts``,
``base_seconds``, ``cap_seconds``), ``ESCALATE_AFTER_MINUTES``, ``DISPATCH_BATCH_SIZE``,
``DISPATCH_LEASE_SECONDS``, ``DISPATCH_CONCURRENCY``, ``DISPATCH_INTERVAL_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider

from services.notifications.adapters.channels import Channels, SendAll
from services.notifications.adapters.pinned_http import Connector
from services.notifications.adapters.sms import TwilioSettings, TwilioSmsSender
from services.notifications.adapters.smtp import SmtpSender, SmtpSettings
from services.notifications.adapters.webhook import WebhookSender
from services.notifications.domain.rendering import Renderer
from services.notifications.domain.retry import DeliveryRetryPolicy, DispatchPolicy
from services.notifications.domain.settings_request import WebhookPolicy

_CONNECT_TIMEOUT = 3.05


def channels_from_config(config: Mapping[str, Any]) -> Channels:
    """The renderer and the three senders. Raises ``ValueError`` on a malformed number."""
    smtp = SmtpSender(SmtpSettings(
        host=str(config.get("SMTP_HOST", "localhost")),
        port=int(config.get("SMTP_PORT", 1025)),
        sender=str(config.get("SMTP_SENDER", "notifications@network.example")),
        starttls=_flag(config.get("SMTP_STARTTLS", False)),
        username=_text(config.get("SMTP_USERNAME")),
        password=_text(config.get("SMTP_PASSWORD")),
        timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 10)),
    ))
    sms = None
    if _text(config.get("SMS_ACCOUNT_SID")):
        sms = TwilioSmsSender(TwilioSettings(
            account_sid=str(config["SMS_ACCOUNT_SID"]),
            auth_token=_text(config.get("SMS_AUTH_TOKEN")) or "",
            from_number=_e164(config.get("SMS_FROM_NUMBER", "")),
            base_url=str(config.get("SMS_BASE_URL", "https://api.twilio.com")),
            timeout=(_CONNECT_TIMEOUT, float(config.get("SMS_TIMEOUT_SECONDS", 10))),
        ))
    webhook = WebhookSender(
        timeout=(_CONNECT_TIMEOUT, float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10))),
        connector=Connector(allow_private_hosts=_flag(config.get("WEBHOOK_ALLOW_PRIVATE_HOSTS", False))),
    )
    renderer = Renderer(str(config.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")))
    return Channels(renderer, webhook=webhook, email=smtp, sms=sms)


def dispatch_policy_from_config(config: Mapping[str, Any]) -> DispatchPolicy:
    """Retry, escalation, lease and batch settings. Raises ``ValueError`` when out of range."""
    retry = config.get("DELIVERY_RETRY") or {}
    return DispatchPolicy(
        retry=DeliveryRetryPolicy(
            max_attempts=int(retry.get("max_attempts", 6)),
            base=timedelta(seconds=float(retry.get("base_seconds", 2))),
            cap=timedelta(seconds=float(retry.get("cap_seconds", 600))),
        ),
        escalate_after=timedelta(minutes=float(config.get("ESCALATE_AFTER_MINUTES", 30))),
        lease=timedelta(seconds=float(config.get("DISPATCH_LEASE_SECONDS", 300))),
        batch_size=int(config.get("DISPATCH_BATCH_SIZE", 100)),
    )


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


def _e164(value: Any) -> str:
    # An unquoted +1555... in YAML reads as a number and loses its plus sign.
    text = str(value).strip()
    return text if text.startswith("+") or not text else f"+{text}"


@dataclass(frozen=True)
class Outbound:
    """What a dispatching worker needs: the senders, the policy and a concurrent map."""

    channels: Channels
    policy: DispatchPolicy
    send_all: SendAll
    webhooks: WebhookPolicy


class OutboundChannels(DependencyProvider):
    """Builds the senders and the dispatch policy once, from the service's config."""

    def setup(self) -> None:
        config = self.container.config
        self.channels = channels_from_config(config)
        self.policy = dispatch_policy_from_config(config)
        self.pool = GreenPool(int(config.get("DISPATCH_CONCURRENCY", 10)))
        self.webhooks = WebhookPolicy(
            require_https=_flag(config.get("WEBHOOK_REQUIRE_HTTPS", True)),
            allow_private_hosts=_flag(config.get("WEBHOOK_ALLOW_PRIVATE_HOSTS", False)),
        )

    def get_dependency(self, worker_ctx) -> Outbound:
        return Outbound(self.channels, self.policy, self.pool.imap, self.webhooks)

