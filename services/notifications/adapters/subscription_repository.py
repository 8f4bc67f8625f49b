"""Agencies' FHIR Subscriptions in ``fhir_subscriptions``, the endpoint sealed."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from services.kit.crypto import KeyRing
from services.kit.encrypted import seal, unseal
from services.notifications.adapters import orm
from services.notifications.domain.subscriptions import ACTIVE, LISTENING, Subscription

_T = orm.fhir_subscriptions
_SEALED = orm.ENCRYPTED[orm.SUBSCRIPTIONS]

# Built once: every referral status change counts an event for each listening subscription,
# and every dispatch of a subscription's delivery reads it.
_GET = select(_T).where(_T.c.id == bindparam("subscription_id"))
_LISTENING_OF = (select(_T).where(_T.c.agency_id == bindparam("agency_id"), _T.c.status.in_(LISTENING))
                 .order_by(_T.c.created_at, _T.c.id))
_COUNT_EVENT = (update(_T).where(_T.c.id == bindparam("subscription_id"))
                .values(events_since_start=_T.c.events_since_start + 1))
_EVENTS_SINCE_START = select(_T.c.events_since_start).where(_T.c.id == bindparam("subscription_id"))


class SubscriptionRepository:
    def __init__(self, session: Session, ring: KeyRing) -> None:
        self.session = session
        self.ring = ring

    def add(self, subscription: Subscription) -> None:
        sealed = seal(self.ring, orm.SUBSCRIPTIONS, subscription.id, {"endpoint": subscription.endpoint})
        self.session.execute(_T.insert().values(
            id=subscription.id, agency_id=subscription.agency_id, status=subscription.status,
            topic=subscription.topic, heartbeat_seconds=subscription.heartbeat_seconds,
            events_since_start=subscription.events_since_start, created_at=subscription.created_at,
            last_heartbeat_at=subscription.last_heartbeat_at, reason=subscription.reason, **sealed))

    def get(self, subscription_id: str, agency_id: str | None = None) -> Subscription | None:
        """The subscription (of ``agency_id`` only, when given), or None."""
        row = self.session.execute(_GET, {"subscription_id": subscription_id}).mappings().first()
        if row is None or (agency_id is not None and row["agency_id"] != agency_id):
            return None
        return self._load(row)

    def of_agency(self, agency_id: str, statuses: tuple[str, ...] | None = None) -> list[Subscription]:
        query = select(_T).where(_T.c.agency_id == agency_id)
        if statuses is not None:
            query = query.where(_T.c.status.in_(statuses))
        rows = self.session.execute(query.order_by(_T.c.created_at, _T.c.id)).mappings()
        return [self._load(row) for row in rows]

    def listening_of(self, agency_id: str) -> list[Subscription]:
        """``of_agency(agency_id, LISTENING)``."""
        rows = self.session.execute(_LISTENING_OF, {"agency_id": agency_id}).mappings()
        return [self._load(row) for row in rows]

    def with_heartbeats(self) -> list[Subscription]:
        rows = self.session.execute(select(_T).where(
            _T.c.status == ACTIVE, _T.c.heartbeat_seconds.is_not(None))).mappings()
        return [self._load(row) for row in rows]

    def save(self, subscription: Subscription) -> None:
        """Write its status, last heartbeat and reason (topic and endpoint never change; the event
        count changes through ``count_event`` only)."""
        self.session.execute(update(_T).where(_T.c.id == subscription.id).values(
            status=subscription.status, last_heartbeat_at=subscription.last_heartbeat_at,
            reason=subscription.reason))

    def count_event(self, subscription_id: str) -> int:
        """Add one to its events and return the new count: one statement, so two events handled
        at once never get the same number (the row stays locked until the commit)."""
        params = {"subscription_id": subscription_id}
        self.session.execute(_COUNT_EVENT, params)
        return int(self.session.scalar(_EVENTS_SINCE_START, params))

    def set_status(self, subscription_id: str, status: str, only_from: tuple[str, ...],
                   reason: str | None = None) -> None:
        """Move it to ``status`` when it is in one of ``only_from`` (an off one stays off)."""
        self.session.execute(update(_T).where(_T.c.id == subscription_id, _T.c.status.in_(only_from))
                             .values(status=status, reason=reason))

    def delete(self, subscription_id: str) -> None:
        self.session.execute(_T.delete().where(_T.c.id == subscription_id))

    def _load(self, row) -> Subscription:
        clear = unseal(self.ring, orm.SUBSCRIPTIONS, row["id"], {c: row[c] for c in _SEALED})
        return Subscription(
            id=row["id"], agency_id=row["agency_id"], status=row["status"], topic=row["topic"],
            endpoint=clear["endpoint"], heartbeat_seconds=row["heartbeat_seconds"],
            events_since_start=row["events_since_start"], created_at=row["created_at"],
            last_heartbeat_at=row["last_heartbeat_at"], reason=row["reason"])
