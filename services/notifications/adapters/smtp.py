"""Email over SMTP with ``smtplib`` and ``email.message.EmailMessage``."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.rendering import EmailContent


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over; ``password`` comes from the environment."""

    host: str
    port: int = 587
    sender: str = "notifications@network.example"
    starttls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)


class SmtpSender:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def build(self, to: str, content: EmailContent, message_id: str) -> EmailMessage:
        """The email for ``content``; ``message_id`` goes into a header so receivers
        and support can tie a mail to its delivery."""
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.sender
        mail["To"] = to
        mail["Subject"] = content.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        mail["X-Notification-Id"] = message_id
        mail.set_content(content.body, charset="utf-8")
        # After set_content, which clears every Content-* header it finds.
        mail["Content-Language"] = content.language
        return mail

    def send(self, to: str, content: EmailContent, message_id: str) -> SendOutcome:
        """Hand the email to the SMTP server.

        Never raises for mail trouble: 4xx replies and connection errors are retryable,
        5xx replies (bad address, refused auth) are not. The outcome's detail holds only
        the reply code, since servers echo addresses in their reply text.
        """
        s = self.settings
        mail = self.build(to, content, message_id)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as client:
                client.ehlo()
                if s.starttls:
                    client.starttls(context=s.ssl_context or ssl.create_default_context())
                    client.ehlo()
                if s.username:
                    client.login(s.username, s.password or "")
                refused = client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            return _reply(codes[0] if codes else 550, "recipient refused")
        except smtplib.SMTPResponseException as error:
            return _reply(error.smtp_code, type(error).__name__)
        except smtplib.SMTPNotSupportedError:
            # STARTTLS or AUTH missing on the server is configuration, not a passing fault.
            return SendOutcome(False, "SMTP server lacks STARTTLS or AUTH", False)
        except (smtplib.SMTPException, OSError) as error:
            return SendOutcome.unreachable(error)
        if refused:
            return _reply(next(iter(refused.values()))[0], "recipient refused")
        return SendOutcome.sent("accepted by SMTP server")


def _reply(code: int, what: str) -> SendOutcome:
    return SendOutcome(False, f"SMTP {code} ({what})", 400 <= code < 500)
