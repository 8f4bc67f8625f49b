"""Text messages out, through the same Twilio-shaped Messages API the notifications service uses.

Config: ``SMS_BASE_URL``, ``SMS_ACCOUNT_SID``, ``SMS_AUTH_TOKEN``, ``SMS_FROM_NUMBER``,
``SMS_TIMEOUT_SECONDS``. With ``SMS_ACCOUNT_SID`` empty nothing is sent and each attempt is
recorded as ``failed`` (``sms_off``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.notifications.adapters.sms import TwilioSettings, TwilioSmsSender
from services.notifications.domain.outcome import SendOutcome


@dataclass(frozen=True)
class Text:
    """One text to send: ``to`` and ``body`` are never stored or logged, ``kind`` is."""

    agency_id: str
    referral_id: str | None
    kind: str
    to: str
    body: str


class TextSender:
    def __init__(self, sender: TwilioSmsSender | None) -> None:
        self.sender = sender

    def send(self, to: str, body: str) -> SendOutcome:
        if self.sender is None:
            return SendOutcome.refused("sms_off")
        return self.sender.send(to, body)


class Texts(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        sid = str(config.get("SMS_ACCOUNT_SID") or "").strip()
        sender = None
        if sid and sid != "None":
            sender = TwilioSmsSender(TwilioSettings(
                account_sid=sid, auth_token=str(config.get("SMS_AUTH_TOKEN") or ""),
                from_number=str(config.get("SMS_FROM_NUMBER") or ""),
                base_url=str(config.get("SMS_BASE_URL", "https://api.twilio.com")),
                timeout=(3.05, float(config.get("SMS_TIMEOUT_SECONDS", 10)))))
        self.texts = TextSender(sender)

    def get_dependency(self, worker_ctx) -> TextSender:
        return self.texts
