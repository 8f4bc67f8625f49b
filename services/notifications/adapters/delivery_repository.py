"""Planned deliveries and their attempts in the ``deliveries`` table (ids and statuses only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from services.notifications.adapters import orm
from services.notifications.adapters.upsert import dialect_insert
from services.notifications.domain.delivery import DEFERRED, PENDING, Attempt, Delivery
from services.notifications.domain.message import Message

_OPEN = (PENDING, DEFERRED)


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher holds, with the message it carries."""

    delivery: Delivery
    message: Message


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, delivery: Delivery, message: Message, now: datetime) -> bool:
        """Store a planned delivery; False when one with its key exists (a replayed event)."""
        statement = dialect_insert(self.session, orm.deliveries).values(
            id=delivery.id, key=delivery.key, agency_id=delivery.agency_id,
            channel=delivery.channel, event_id=delivery.event_id, event_type=delivery.event_type,
            status=delivery.status, next_attempt_at=delivery.next_attempt_at,
            attempts=[a.to_dict() for a in delivery.attempts], message=message.to_record(),
            created_at=now,
        ).on_conflict_do_nothing(index_elements=["key"])
        return self.session.execute(statement).rowcount == 1

    def claim_due(self, now: datetime, lease_until: datetime, token: str, limit: int) -> list[Claimed]:
        """Take up to ``limit`` deliveries due at ``now`` for one dispatcher.

        The claim is a conditional update, so two dispatchers never take the same row;
        ``lease_until`` becomes the row's next attempt, so a dispatcher that dies while
        sending leaves its rows to be tried again once the lease runs out.
        """
        c = orm.deliveries.c
        due = and_(c.status.in_(_OPEN), c.next_attempt_at <= now)
        ids = list(self.session.scalars(
            select(c.id).where(due).order_by(c.next_attempt_at, c.id).limit(limit)))
        if not ids:
            return []
        self.session.execute(update(orm.deliveries).where(c.id.in_(ids), due).values(
            claim=token, status=PENDING, next_attempt_at=lease_until))
        rows = self.session.execute(select(orm.deliveries).where(c.claim == token)).mappings()
        return [Claimed(_delivery(row), Message.from_record(row["message"])) for row in rows]

    def hold(self, delivery_id: str, token: str) -> None:
        """Claim a delivery just added, in the same transaction, for the request that sends it at
        once; its ``next_attempt_at`` (the lease) keeps dispatchers away until then."""
        self.session.execute(update(orm.deliveries).where(orm.deliveries.c.id == delivery_id)
                             .values(claim=token))

    def holds_claim(self, delivery_id: str, token: str) -> bool:
        """Whether the claim ``token`` still holds the delivery (its lease was not taken over)."""
        c = orm.deliveries.c
        return self.session.execute(
            select(c.id).where(c.id == delivery_id, c.claim == token)).first() is not None

    def save(self, delivery: Delivery) -> None:
        """Write the delivery's status, next attempt and attempts; releases any claim."""
        self.session.execute(update(orm.deliveries).where(orm.deliveries.c.id == delivery.id).values(
            status=delivery.status, next_attempt_at=delivery.next_attempt_at,
            attempts=[a.to_dict() for a in delivery.attempts], claim=None))

    def log_of(self, agency_id: str, after: tuple[datetime, str] | None, limit: int, *,
               status: str | None = None) -> list[tuple[Delivery, datetime]]:
        """The agency's deliveries (in ``status`` only, when given), newest first, strictly after
        the ``(created_at, id)`` cursor."""
        c = orm.deliveries.c
        query = select(orm.deliveries).where(c.agency_id == agency_id)
        if status is not None:
            query = query.where(c.status == status)
        if after is not None:
            at, last_id = after
            query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.id < last_id)))
        rows = self.session.execute(
            query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)).mappings()
        return [(_delivery(row), row["created_at"]) for row in rows]


def _delivery(row) -> Delivery:
    return Delivery(
        id=row["id"], agency_id=row["agency_id"], channel=row["channel"],
        event_id=row["event_id"], event_type=row["event_type"], status=row["status"],
        next_attempt_at=row["next_attempt_at"],
        attempts=[Attempt.from_dict(a) for a in row["attempts"]],
    )
