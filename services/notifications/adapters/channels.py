"""One entry point for sending a delivery, whatever its channel."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from services.notifications.adapters.sms import TwilioSmsSender
from services.notifications.adapters.smtp import SmtpSender
from services.notifications.adapters.webhook import WebhookSender
from services.notifications.domain.delivery import Delivery
from services.notifications.domain.message import Message
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.rendering import Renderer
from services.notifications.domain.settings import AgencySettings

# How a dispatcher sends a batch: ``map``, or a pool's ``imap`` (outcomes in order, sent concurrently).
SendAll = Callable[[Callable[[Any], SendOutcome], Iterable[Any]], Iterator[SendOutcome]]


class Channels:
    """Renders a message for the delivery's channel and language and sends it.

    A channel without a sender, or an agency that removed the address since the
    delivery was planned, gives a final (not retryable) failure rather than an error.
    """

    def __init__(self, renderer: Renderer, webhook: WebhookSender | None = None,
                 email: SmtpSender | None = None, sms: TwilioSmsSender | None = None) -> None:
        self.renderer = renderer
        self.webhook, self.email, self.sms = webhook, email, sms

    def send(self, delivery: Delivery, message: Message, settings: AgencySettings) -> SendOutcome:
        if delivery.channel == "webhook" and self.webhook:
            if not (settings.webhook_url and settings.webhook_secret):
                return _unconfigured("webhook URL")
            return self.webhook.send(settings.webhook_url, settings.webhook_secret,
                                     self.renderer.webhook_body(message), message.id, message.kind)
        if delivery.channel == "email" and self.email:
            if not settings.email:
                return _unconfigured("email address")
            content = self.renderer.email(message, settings.language, settings.timezone)
            return self.email.send(settings.email, content, message.id)
        if delivery.channel == "sms" and self.sms:
            if not settings.phone:
                return _unconfigured("phone number")
            return self.sms.send(settings.phone,
                                 self.renderer.sms(message, settings.language, settings.timezone))
        return SendOutcome(False, f"no sender for channel {delivery.channel}", False)


def _unconfigured(what: str) -> SendOutcome:
    return SendOutcome(False, f"agency has no {what} set", False)
