"""What a notification says: a kind and a whitelisted set of ids and statuses.

A message is built by copying named fields out of an event payload, never by
passing the payload through, so a field that a producer adds by mistake (a name,
a phone number, a clinician's note) cannot reach a template (docs/events.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.kit import vocabulary as v
from services.kit.contract import Event

MATCH_PROPOSED = "match.proposed"
MATCH_WAITLISTED = "match.waitlisted"
REFERRAL_STATUS_CHANGED = "referral.status_changed"
CONSENT_REVOKED = "consent.revoked"
CONSENT_EXPIRED = "consent.expired"
REFERRAL_ESCALATED = "referral.escalated"  # raised here, not by an event: see routing
MENTOR_CERTIFICATION_EXPIRING = "mentor.certification_expiring"
# FHIR Subscription notifications (domain/subscriptions.py), raised here as well.
SUBSCRIPTION_HANDSHAKE = "subscription.handshake"
SUBSCRIPTION_HEARTBEAT = "subscription.heartbeat"
SUBSCRIPTION_EVENT = "subscription.event-notification"
# A signed test an agency's admin asks for, to check its webhook receiver.
NOTIFICATION_TEST = "notification.test"

MESSAGE_KINDS = (
    MATCH_PROPOSED,
    MATCH_WAITLISTED,
    REFERRAL_STATUS_CHANGED,
    CONSENT_REVOKED,
    CONSENT_EXPIRED,
    REFERRAL_ESCALATED,
    MENTOR_CERTIFICATION_EXPIRING,
)
# Not among the kinds an agency routes to its channels: they go to the subscription's endpoint.
SUBSCRIPTION_KINDS = (SUBSCRIPTION_HANDSHAKE, SUBSCRIPTION_HEARTBEAT, SUBSCRIPTION_EVENT)

# The only payload fields a message of each kind may carry.
WHITELIST: dict[str, tuple[str, ...]] = {
    MATCH_PROPOSED: (
        "match_id", "referral_id", "mentor_id", "mentor_agency_id", "urgency", "score",
        "expires_at",
    ),
    MATCH_WAITLISTED: ("referral_id", "urgency", "reason_code"),
    REFERRAL_STATUS_CHANGED: (
        "referral_id", "assigned_agency_id", "urgency", "from_status", "to_status", "reason_code",
    ),
    CONSENT_REVOKED: ("consent_id", "participant_id", "full"),
    CONSENT_EXPIRED: ("consent_id", "participant_id"),
    REFERRAL_ESCALATED: (
        "match_id", "referral_id", "referrer_agency_id", "mentor_agency_id", "urgency",
        "proposed_at",
    ),
    MENTOR_CERTIFICATION_EXPIRING: ("mentor_id", "days", "days_left"),
    SUBSCRIPTION_HANDSHAKE: ("subscription_id", "events_since_start"),
    SUBSCRIPTION_HEARTBEAT: ("subscription_id", "events_since_start"),
    SUBSCRIPTION_EVENT: ("subscription_id", "referral_id", "event_number", "events_since_start"),
    NOTIFICATION_TEST: ("agency_id",),
}

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$")
_STATUSES = set(v.REFERRAL_STATUSES)


class UnsafeMessage(ValueError):
    """A whitelisted field holds something that is not an id, status or code."""


def _clean(name: str, value: Any) -> Any:
    # Each field is checked against its shape as well as its name: a whitelisted
    # field holding free text would still be a leak.
    if value is None:
        return None
    if name.endswith("_id"):
        if isinstance(value, str) and _ID.match(value):
            return value
        raise UnsafeMessage(f"{name} is not an opaque id")
    if name in ("from_status", "to_status"):
        if value in _STATUSES:
            return value
        raise UnsafeMessage(f"{name} is not a referral status")
    if name == "urgency":
        if value in v.URGENCIES:
            return value
        raise UnsafeMessage("urgency is not one of the known urgencies")
    if name == "reason_code":
        # A code that is not a code is replaced rather than refused: the recipient
        # still learns that the status changed.
        return value if isinstance(value, str) and _CODE.match(value) else "other"
    if name == "score":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return round(float(value), 2)
        raise UnsafeMessage("score is not a number")
    if name in ("event_number", "events_since_start", "days", "days_left"):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise UnsafeMessage(f"{name} is not a count")
    if name == "full":
        return bool(value)
    if name in ("expires_at", "proposed_at"):
        if isinstance(value, str) and _TIMESTAMP.match(value):
            return value
        raise UnsafeMessage(f"{name} is not a timestamp")
    raise UnsafeMessage(f"{name} has no known shape")


@dataclass(frozen=True)
class Message:
    """One notification, before it is rendered for a channel and a language.

    ``id`` is what receivers deduplicate on: the event id, or a derived id for
    messages the service raises itself (escalations).
    """

    id: str
    kind: str
    occurred_at: datetime
    urgency: str = "routine"
    data: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """A JSON-friendly form, e.g. to keep next to a delivery for its retries."""
        return {
            "id": self.id,
            "kind": self.kind,
            "occurred_at": self.occurred_at.isoformat(),
            "urgency": self.urgency,
            "data": dict(self.data),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Message:
        return build_message(
            record["id"], record["kind"], datetime.fromisoformat(record["occurred_at"]),
            record["data"], urgency=record.get("urgency", "routine"),
        )


def build_message(
    message_id: str,
    kind: str,
    occurred_at: datetime,
    source: dict[str, Any],
    urgency: str | None = None,
) -> Message:
    """Copy the whitelisted fields of ``kind`` out of ``source``.

    Raises ``UnsafeMessage`` for an unknown kind or a whitelisted field whose value
    is not an id, status, code, number or timestamp.
    """
    if kind not in WHITELIST:
        raise UnsafeMessage(f"unknown message kind {kind!r}")
    data = {name: _clean(name, source.get(name)) for name in WHITELIST[kind]}
    urgency = urgency or data.get("urgency") or "routine"
    return Message(id=message_id, kind=kind, occurred_at=occurred_at, urgency=urgency, data=data)


def message_for(event: Event, kind: str) -> Message:
    """The message of ``kind`` that ``event`` gives rise to (see ``routing.recipients``).

    Consent messages are routine: they go out at once over webhooks and wait for
    quiet hours to end on people's phones and inboxes.
    """
    return build_message(event.id, kind, event.occurred_at, event.payload)
