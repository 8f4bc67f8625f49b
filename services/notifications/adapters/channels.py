"""One entry point for sending a delivery, whatever its channel."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from services.notifications.adapters.sms import TwilioSmsSender
from services.notifications.adapters.smtp import SmtpSender
from services.notifications.adapters.webhook import WebhookSender
from services.notifications.domain import message as m
from services.notifications.domain.delivery import Delivery
from services.notifications.domain.message import Message
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.rendering import Renderer
from services.notifications.domain.settings import AgencySettings
from services.notifications.domain.subscriptions import (
    CHANNEL,
    EVENT,
    HANDSHAKE,
    HEARTBEAT,
    LISTENING,
    Subscription,
    notification_bundle,
)

FHIR_JSON = "application/fhir+json"
_NOTIFICATION_TYPES = {m.SUBSCRIPTION_HANDSHAKE: HANDSHAKE, m.SUBSCRIPTION_HEARTBEAT: HEARTBEAT,
                       m.SUBSCRIPTION_EVENT: EVENT}

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

    def send(self, delivery: Delivery, message: Message, settings: AgencySettings,
             subscription: Subscription | None = None) -> SendOutcome:
        if delivery.channel == CHANNEL and self.webhook:
            return self._notify(message, settings, subscription)
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

    def _notify(self, message: Message, settings: AgencySettings,
                subscription: Subscription | None) -> SendOutcome:
        """A FHIR Subscription notification, signed with the agency's webhook secret."""
        if subscription is None or subscription.status not in LISTENING:
            return SendOutcome(False, "subscription is off or gone", False)
        if not settings.webhook_secret:
            return _unconfigured("webhook secret")
        data = message.data
        bundle = notification_bundle(
            subscription.id, self.renderer.base_url + "/fhir", _NOTIFICATION_TYPES[message.kind],
            data["events_since_start"], subscription.status, message.id, message.occurred_at,
            data.get("event_number"), data.get("referral_id"))
        body = json.dumps(bundle, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return self.webhook.send(subscription.endpoint, settings.webhook_secret, body, message.id,
                                 message.kind, content_type=FHIR_JSON)


def _unconfigured(what: str) -> SendOutcome:
    return SendOutcome(False, f"agency has no {what} set", False)
