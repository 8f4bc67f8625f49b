"""A delivery: one message to one agency over one channel, and every attempt at it.

Statuses: ``deferred`` (waiting for quiet hours to end), ``pending`` (due, or due
again after a retryable failure), ``sent`` and ``failed`` (final). The delivery
records the events that tell the network how it ended (``notification.delivered``
/ ``notification.failed``) for the unit of work to publish.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.retry import DeliveryRetryPolicy

PENDING, DEFERRED, SENT, FAILED = "pending", "deferred", "sent", "failed"
DELIVERY_STATUSES = (PENDING, DEFERRED, SENT, FAILED)
_NAMESPACE = uuid.UUID("5f0c1d3e-7b52-4d0a-9a43-0b6a3c2e9d11")
_MAX_ERROR = 200


def delivery_key(event_id: str, agency_id: str, channel: str) -> str:
    """The unique key of a delivery: one per (event, agency, channel), however often
    the event is redelivered."""
    return f"{event_id}|{agency_id}|{channel}"


def delivery_id(event_id: str, agency_id: str, channel: str) -> str:
    """A stable id derived from the key, so a replayed event finds the same delivery."""
    return str(uuid.uuid5(_NAMESPACE, delivery_key(event_id, agency_id, channel)))


class DeliveryClosed(ValueError):
    """An attempt was recorded on a delivery that is already sent or failed."""


@dataclass(frozen=True)
class Attempt:
    number: int
    at: datetime
    outcome: str  # "sent", "retryable_error" or "error"
    http_status: int | None = None
    error: str | None = None  # from the adapter: no secrets, no message body

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "at": self.at.isoformat(), "outcome": self.outcome,
                "http_status": self.http_status, "error": self.error}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Attempt:
        return cls(d["number"], datetime.fromisoformat(d["at"]), d["outcome"],
                   d.get("http_status"), d.get("error"))


@dataclass(frozen=True)
class DeliveryEvent:
    """An event this delivery wants published (payload fits ``NotificationOutcomeV1``)."""

    type: str
    payload: dict[str, Any]


@dataclass
class Delivery:
    id: str
    agency_id: str
    channel: str
    event_id: str
    event_type: str  # the message kind, e.g. "match.proposed" or "referral.escalated"
    status: str
    next_attempt_at: datetime | None
    attempts: list[Attempt] = field(default_factory=list)
    events: list[DeliveryEvent] = field(default_factory=list, compare=False)

    @classmethod
    def create(cls, event_id: str, event_type: str, agency_id: str, channel: str,
               now: datetime, send_at: datetime | None = None) -> Delivery:
        """A new delivery, ``deferred`` when ``send_at`` lies after ``now``."""
        send_at = send_at or now
        return cls(
            id=delivery_id(event_id, agency_id, channel), agency_id=agency_id, channel=channel,
            event_id=event_id, event_type=event_type,
            status=DEFERRED if send_at > now else PENDING, next_attempt_at=send_at,
        )

    @property
    def key(self) -> str:
        return delivery_key(self.event_id, self.agency_id, self.channel)

    @property
    def is_final(self) -> bool:
        return self.status in (SENT, FAILED)

    def is_due(self, now: datetime) -> bool:
        return (not self.is_final and self.next_attempt_at is not None
                and self.next_attempt_at <= now)

    def defer_until(self, when: datetime) -> None:
        """Hold an open delivery until ``when`` (quiet hours); no-op once it is final."""
        if not self.is_final:
            self.status, self.next_attempt_at = DEFERRED, when

    def record_attempt(self, outcome: SendOutcome, at: datetime, policy: DeliveryRetryPolicy,
                       rng: random.Random | None = None) -> None:
        """Log one attempt and move to ``sent``, ``pending`` (retry later) or ``failed``.

        A retryable failure waits as the policy says until attempts run out; any other
        failure is final at once. Raises ``DeliveryClosed`` on a sent or failed delivery.
        """
        if self.is_final:
            raise DeliveryClosed(f"delivery {self.id} is already {self.status}")
        number = len(self.attempts) + 1
        if outcome.ok:
            self.attempts.append(Attempt(number, at, "sent", outcome.http_status))
            self.status, self.next_attempt_at = SENT, None
        else:
            kind = "retryable_error" if outcome.retryable else "error"
            error = (outcome.detail or "unknown error")[:_MAX_ERROR]
            self.attempts.append(Attempt(number, at, kind, outcome.http_status, error))
            retry_at = policy.next_attempt_at(number, at, rng) if outcome.retryable else None
            self.status = PENDING if retry_at else FAILED
            self.next_attempt_at = retry_at
        if self.is_final:
            self.events.append(self._outcome_event())

    def _outcome_event(self) -> DeliveryEvent:
        return DeliveryEvent(
            "notification.delivered" if self.status == SENT else "notification.failed",
            {"notification_id": self.id, "agency_id": self.agency_id, "channel": self.channel,
             "attempts": len(self.attempts), "event_id": self.event_id,
             "event_type": self.event_type},
        )

    def to_log_entry(self) -> dict[str, Any]:
        """The delivery as ``GET /v1/notifications`` shows it (JSON-friendly)."""
        return {
            "id": self.id, "agency_id": self.agency_id, "channel": self.channel,
            "event_id": self.event_id, "event_type": self.event_type, "status": self.status,
            "next_attempt_at": self.next_attempt_at.astimezone(UTC).isoformat()
            if self.next_attempt_at else None,
            "attempts": [a.to_dict() for a in self.attempts],
        }

    @classmethod
    def from_log_entry(cls, entry: dict[str, Any]) -> Delivery:
        """Rebuild a delivery from ``to_log_entry`` (e.g. a JSON column)."""
        next_at = entry.get("next_attempt_at")
        return cls(
            id=entry["id"], agency_id=entry["agency_id"], channel=entry["channel"],
            event_id=entry["event_id"], event_type=entry["event_type"], status=entry["status"],
            next_attempt_at=datetime.fromisoformat(next_at) if next_at else None,
            attempts=[Attempt.from_dict(a) for a in entry.get("attempts", [])],
        )
