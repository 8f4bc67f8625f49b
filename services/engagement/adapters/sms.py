"""Text messages out, through the same Twilio-shaped Messages API the notifications service uses.

Config: ``SMS_BASE_URL``, ``SMS_ACCOUNT_SID``, ``SMS_AUTH_TOKEN``, ``SMS_FROM_NUMBER``,
``SMS_TIMEOUT_SECONDS``. With ``SMS_ACCOUNT_SID`` empty nothing is sent and each attempt is
recorded as ``failed`` (``sms_off``). Check-ins by email go through the notifications service's
SMTP sender: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_SENDER``, ``SMTP_STARTTLS``, ``SMTP_USERNAME``,
``SMTP_PASSWORD``, ``SMTP_TIMEOUT_SECONDS`` (without ``SMTP_HOST``: ``email_off``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.notifications.adapters.sms import TwilioSettings, TwilioSmsSender
from services.notifications.adapters.smtp import SmtpSender, SmtpSettings
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.rendering import EmailContent


class _HeaderedSmtpSender(SmtpSender):
    """The notifications service's SMTP sender, adding a message's own headers (the one-click
    unsubscribe of RFC 8058) to the mail it builds."""

    def build(self, to, content, message_id):
        mail = super().build(to, content, message_id)
        for name, value in getattr(content, "headers", ()):
            mail[name] = value
        return mail


@dataclass(frozen=True)
class _HeaderedContent(EmailContent):
    headers: tuple[tuple[str, str], ...] = ()


class MailSender:
    """Check-in emails through SMTP, exactly as the notifications service sends its email."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.smtp = _HeaderedSmtpSender(settings)

    def send(self, text: Text) -> SendOutcome:
        content = _HeaderedContent(text.subject, text.body, text.language, text.headers)
        return self.smtp.send(text.to, content, f"{text.kind}:{text.referral_id}")


@dataclass(frozen=True)
class Text:
    """One message to send: ``to``, ``subject`` and ``body`` are never stored or logged, ``kind``
    and ``channel`` are. ``channel`` ``email`` goes out by SMTP with ``headers`` added."""

    agency_id: str
    referral_id: str | None
    kind: str
    to: str
    body: str
    channel: str = "sms"
    subject: str = ""
    language: str = "en"
    headers: tuple[tuple[str, str], ...] = ()


class TextSender:
    def __init__(self, sender: TwilioSmsSender | None, mail: MailSender | None = None) -> None:
        self.sender = sender
        self.mail = mail

    def send(self, to: str, body: str) -> SendOutcome:
        if self.sender is None:
            return SendOutcome.refused("sms_off")
        return self.sender.send(to, body)

    def send_message(self, text: Text) -> SendOutcome:
        """A text by SMS, or an email by SMTP (``email_off`` without an SMTP server)."""
        if text.channel != "email":
            return self.send(text.to, text.body)
        if self.mail is None:
            return SendOutcome.refused("email_off")
        return self.mail.send(text)


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
        mail = None
        host = str(config.get("SMTP_HOST") or "").strip()
        if host and host != "None":
            mail = MailSender(SmtpSettings(
                host=host, port=int(config.get("SMTP_PORT", 587)),
                sender=str(config.get("SMTP_SENDER") or "checkins@network.example"),
                starttls=str(config.get("SMTP_STARTTLS", True)).lower() not in ("false", "0", "no"),
                username=str(config.get("SMTP_USERNAME") or "") or None,
                password=str(config.get("SMTP_PASSWORD") or "") or None,
                timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 10))))
        self.texts = TextSender(sender, mail)

    def get_dependency(self, worker_ctx) -> TextSender:
        return self.texts
