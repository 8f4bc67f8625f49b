"""FHIR Subscriptions: an agency's own, their handshake, heartbeats and event notifications.

Every notification is a delivery on the ``fhir-rest-hook`` channel, sent, signed and retried by
the dispatcher like any webhook; ``plan`` stores it with the message it carries (ids and counts).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.kit.contract import Event
from services.kit.errors import InvalidRequest, NotFound
from services.notifications.domain import message as m
from services.notifications.domain.delivery import Delivery
from services.notifications.domain.settings_request import WebhookPolicy
from services.notifications.domain.subscriptions import (
    CHANNEL,
    LISTENING,
    MAX_PER_AGENCY,
    OFF,
    Subscription,
    new_subscription,
    notification_id,
)


def create(uow, agency_id: str, body: dict, now: datetime,
           webhooks: WebhookPolicy = WebhookPolicy()) -> Subscription:
    """Store a requested subscription and plan its handshake. Raises ``InvalidRequest`` (field
    errors) when the body is not valid, the agency has no webhook secret to sign with, or it
    already has ``MAX_PER_AGENCY`` subscriptions."""
    subscription = new_subscription(agency_id, body, now, webhooks)
    with uow:
        settings = uow.settings.settings_of(agency_id)
        if settings is None or not settings.webhook_secret:
            raise InvalidRequest("Notifications are signed with the agency's webhook secret: set a "
                                 "webhook URL in the notification settings first.",
                                 errors={"endpoint": ["the agency has no webhook secret yet"]})
        if len(uow.subscriptions.of_agency(agency_id)) >= MAX_PER_AGENCY:
            raise InvalidRequest("Too many subscriptions.",
                                 errors={"endpoint": [f"at most {MAX_PER_AGENCY} per agency"]})
        uow.subscriptions.add(subscription)
        _plan(uow, subscription, m.SUBSCRIPTION_HANDSHAKE, "handshake", now)
        uow.commit()
    return subscription


def read(uow, agency_id: str, subscription_id: str) -> Subscription:
    """The agency's subscription; another agency's answers ``NotFound`` as an unknown id does."""
    with uow:
        found = uow.subscriptions.get(subscription_id, agency_id)
    if found is None:
        raise NotFound("No such subscription.")
    return found


def search(uow, agency_id: str, status: str | None = None) -> list[Subscription]:
    with uow:
        return uow.subscriptions.of_agency(agency_id, (status,) if status else None)


def turn_off(uow, agency_id: str, subscription_id: str) -> Subscription:
    """Status ``off``: nothing more is sent (deliveries already planned end as failed)."""
    with uow:
        found = uow.subscriptions.get(subscription_id, agency_id)
        if found is None:
            raise NotFound("No such subscription.")
        changed = replace(found, status=OFF)
        uow.subscriptions.save(changed)
        uow.commit()
    return changed


def delete(uow, agency_id: str, subscription_id: str) -> None:
    with uow:
        if uow.subscriptions.get(subscription_id, agency_id) is None:
            raise NotFound("No such subscription.")
        uow.subscriptions.delete(subscription_id)
        uow.commit()


def on_status_changed(event: Event, uow, now: datetime) -> int:
    """Inside the event's inbox unit of work: one numbered notification per listening subscription
    of the referring agency. Returns how many were planned."""
    agency_id = event.payload.get("referrer_agency_id")
    if not agency_id:
        return 0
    planned = 0
    for subscription in uow.subscriptions.listening_of(agency_id):
        number = uow.subscriptions.count_event(subscription.id)
        counted = replace(subscription, events_since_start=number)
        planned += _plan(uow, counted, m.SUBSCRIPTION_EVENT, event.id, now,
                         referral_id=event.payload["referral_id"], event_number=number)
    return planned


def heartbeats(uow, now: datetime) -> int:
    """Plan a heartbeat for each active subscription whose period has passed; returns how many."""
    planned = 0
    with uow:
        for subscription in uow.subscriptions.with_heartbeats():
            if subscription.heartbeat_due(now):
                uow.subscriptions.save(replace(subscription, last_heartbeat_at=now))
                # One id per period: a second planner in the same period plans nothing more.
                period = int(now.timestamp()) // int(subscription.heartbeat_seconds or 1)
                planned += _plan(uow, subscription, m.SUBSCRIPTION_HEARTBEAT, str(period), now)
        uow.commit()
    return planned


def _plan(uow, subscription: Subscription, kind: str, discriminator: str, now: datetime,
          **data: object) -> int:
    message_id = notification_id(subscription.id, kind, discriminator)
    message = m.build_message(message_id, kind, now, {
        "subscription_id": subscription.id, "events_since_start": subscription.events_since_start,
        **data})
    delivery = Delivery.create(message_id, kind, subscription.agency_id, CHANNEL, now)
    return int(uow.deliveries.add(delivery, message, now))


def is_listening(subscription: Subscription | None) -> bool:
    return subscription is not None and subscription.status in LISTENING
