"""FHIR Subscriptions, R4 Backport style: a referrer's rest-hook on its Tasks' status changes.

A subscription belongs to one agency and names one topic, ``TASK_STATUS_TOPIC``: every status
change of a referral the agency referred. Each notification is an id-only ``history`` Bundle whose
first entry is a ``Parameters`` SubscriptionStatus (``handshake``, ``heartbeat`` or
``event-notification``); an event notification names the event's number since the subscription
started and its focus, ``Task/<referral id>``. Nothing else of the referral travels: the receiver
reads the Task with its own credentials.

Pure rules here; the table is ``orm.fhir_subscriptions``, the sending ``adapters/channels.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.kit.errors import InvalidRequest
from services.notifications.domain.settings_request import WebhookPolicy, _webhook_url

TASK_STATUS_TOPIC = "http://referral.network/fhir/SubscriptionTopic/task-status"
CHANNEL = "fhir-rest-hook"  # the deliveries' channel
HANDSHAKE, HEARTBEAT, EVENT = "handshake", "heartbeat", "event-notification"
NOTIFICATION_TYPES = (HANDSHAKE, HEARTBEAT, EVENT)
REQUESTED, ACTIVE, ERROR, OFF = "requested", "active", "error", "off"
STATUSES = (REQUESTED, ACTIVE, ERROR, OFF)
LISTENING = (REQUESTED, ACTIVE)  # statuses that hear about events
MIN_HEARTBEAT_SECONDS, MAX_HEARTBEAT_SECONDS = 1, 86400
MAX_PER_AGENCY = 20
_NAMESPACE = uuid.UUID("0b6f7a4e-3d7c-4f2e-8a55-9d2c1e4b7a60")


@dataclass(frozen=True)
class Subscription:
    id: str
    agency_id: str
    status: str
    topic: str
    endpoint: str
    heartbeat_seconds: int | None
    events_since_start: int
    created_at: datetime
    last_heartbeat_at: datetime | None = None
    reason: str | None = None

    def public_view(self) -> dict[str, Any]:
        """What its agency reads back (the endpoint is its own)."""
        return {"id": self.id, "status": self.status, "topic": self.topic, "endpoint": self.endpoint,
                "heartbeat_seconds": self.heartbeat_seconds,
                "events_since_start": self.events_since_start,
                "created_at": self.created_at.astimezone(UTC).isoformat(), "reason": self.reason}

    def heartbeat_due(self, now: datetime) -> bool:
        if self.status != ACTIVE or not self.heartbeat_seconds:
            return False
        last = self.last_heartbeat_at or self.created_at
        return now - last >= timedelta(seconds=self.heartbeat_seconds)


def new_subscription(agency_id: str, body: Mapping[str, Any], now: datetime,
                     webhooks: WebhookPolicy = WebhookPolicy()) -> Subscription:
    """A new subscription from ``{"topic", "endpoint", "heartbeat_seconds"}``, status requested
    until its handshake is delivered. Raises ``InvalidRequest`` naming each bad field."""
    errors: dict[str, list[str]] = {}
    if body.get("topic") != TASK_STATUS_TOPIC:
        errors["topic"] = [f"must be {TASK_STATUS_TOPIC}"]
    endpoint_errors: dict[str, list[str]] = {}
    endpoint = _webhook_url(body.get("endpoint"), endpoint_errors, webhooks)
    if endpoint is None and not endpoint_errors:
        endpoint_errors["webhook_url"] = ["is required"]
    if endpoint_errors:
        errors["endpoint"] = endpoint_errors["webhook_url"]
    heartbeat = body.get("heartbeat_seconds")
    if heartbeat is not None and (not isinstance(heartbeat, int) or isinstance(heartbeat, bool)
                                  or not MIN_HEARTBEAT_SECONDS <= heartbeat <= MAX_HEARTBEAT_SECONDS):
        errors["heartbeat_seconds"] = [
            f"must be a whole number of seconds from {MIN_HEARTBEAT_SECONDS} to {MAX_HEARTBEAT_SECONDS}"]
    if errors:
        raise InvalidRequest("The subscription is not valid.", errors=errors)
    return Subscription(str(uuid.uuid4()), agency_id, REQUESTED, TASK_STATUS_TOPIC, str(endpoint),
                        heartbeat, 0, now)


def notification_id(subscription_id: str, kind: str, discriminator: str) -> str:
    """A stable id of one notification (the delivery's event id): a replay finds the same one."""
    return str(uuid.uuid5(_NAMESPACE, f"{subscription_id}|{kind}|{discriminator}"))


def notification_bundle(subscription_id: str, base: str, kind: str, events_since_start: int,
                        status: str, notification_id: str, timestamp: datetime,
                        event_number: int | None = None, focus_id: str | None = None) -> dict[str, Any]:
    """The id-only notification Bundle of the R4 Backport (type ``history``).

    ``base`` is the server's FHIR base (``https://…/fhir``); the SubscriptionStatus is its first
    entry. An event notification also carries ``notification-event`` (``event-number`` and the
    ``focus`` ``Task/<focus_id>``) and, as id-only content asks, an entry with the Task's full URL
    and no resource. Raises ``ValueError`` on an unknown ``kind`` or an event without its focus.
    """
    if kind not in NOTIFICATION_TYPES:
        raise ValueError(f"unknown notification type {kind!r}")
    parameters: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{subscription_id}"}},
        {"name": "topic", "valueCanonical": TASK_STATUS_TOPIC},
        {"name": "status", "valueCode": status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(events_since_start)},
    ]
    entries: list[dict[str, Any]] = []
    if kind == EVENT:
        if event_number is None or not focus_id:
            raise ValueError("an event notification needs its event number and focus")
        focus_url = f"{base}/Task/{focus_id}"
        parameters.append({"name": "notification-event", "part": [
            {"name": "event-number", "valueString": str(event_number)},
            {"name": "timestamp", "valueInstant": _instant(timestamp)},
            {"name": "focus", "valueReference": {"reference": f"Task/{focus_id}"}},
        ]})
        entries.append({"fullUrl": focus_url,
                        "request": {"method": "PUT", "url": f"Task/{focus_id}"},
                        "response": {"status": "200"}})
    status_entry = {
        "fullUrl": f"urn:uuid:{notification_id}",
        "resource": {
            "resourceType": "Parameters",
            "id": notification_id,
            "meta": {"profile": [
                "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                "backport-subscription-status-r4"]},
            "parameter": parameters,
        },
        "request": {"method": "GET", "url": f"Subscription/{subscription_id}/$status"},
        "response": {"status": "200"},
    }
    return {
        "resourceType": "Bundle",
        "id": notification_id,
        "meta": {"profile": [
            "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
            "backport-subscription-notification-r4"]},
        "type": "history",
        "timestamp": _instant(timestamp),
        "entry": [status_entry, *entries],
    }


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
