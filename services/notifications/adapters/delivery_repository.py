"""Planned deliveries and their attempts in the ``deliveries`` table (ids and statuses only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, Update, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from services.kit.db import insert_for
from services.notifications.adapters import orm
from services.notifications.domain.delivery import DEFERRED, PENDING, Attempt, Delivery
from services.notifications.domain.message import Message

_OPEN = (PENDING, DEFERRED)


def _claim_due() -> Update:
    """Up to ``:limit`` deliveries due at ``:now``, claimed for ``:token`` until ``:lease_until``."""
    c = orm.deliveries.c
    due = and_(c.status.in_(_OPEN), c.next_attempt_at <= bindparam("now"))
    # A CTE, evaluated once: PostgreSQL may run an IN (… LIMIT … FOR UPDATE) subquery again
    # for each row the update changes, and so claim more than ``limit`` rows.
    oldest = (select(c.id).where(due).order_by(c.next_attempt_at, c.id).limit(bindparam("limit"))
              .with_for_update(skip_locked=True).cte("oldest_due"))
    return (update(orm.deliveries).where(c.id.in_(select(oldest.c.id)), due)
            .values(claim=bindparam("token"), status=PENDING, next_attempt_at=bindparam("lease_until"))
            .returning(*orm.deliveries.c))


# Built once: every event plans deliveries, and every dispatch claims, checks and saves them.
_CLAIM_DUE = _claim_due()
_STILL_HELD = select(orm.deliveries.c.id).where(
    orm.deliveries.c.id.in_(bindparam("ids", expanding=True)), orm.deliveries.c.claim == bindparam("token"))
_SAVE = update(orm.deliveries).where(orm.deliveries.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), next_attempt_at=bindparam("b_next"), attempts=bindparam("b_attempts"),
    claim=None)


@cache
def _add(dialect: str) -> Insert:
    """A delivery unless one with its key exists; RETURNING its id if it went in."""
    return (insert_for(dialect)(orm.deliveries).on_conflict_do_nothing(index_elements=["key"])
            .returning(orm.deliveries.c.id))


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
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT, whether or not it skipped.
        return self.session.execute(_add(self.session.get_bind().dialect.name), {
            "id": delivery.id, "key": delivery.key, "agency_id": delivery.agency_id,
            "channel": delivery.channel, "event_id": delivery.event_id,
            "event_type": delivery.event_type, "status": delivery.status,
            "next_attempt_at": delivery.next_attempt_at,
            "attempts": [a.to_dict() for a in delivery.attempts], "message": message.to_record(),
            "created_at": now,
        }).first() is not None

    def claim_due(self, now: datetime, lease_until: datetime, token: str, limit: int) -> list[Claimed]:
        """Take up to ``limit`` deliveries due at ``now`` for one dispatcher.

        One conditional ``UPDATE … RETURNING``, so two dispatchers never take the same row (on
        PostgreSQL the oldest due rows are chosen ``FOR UPDATE SKIP LOCKED``: a second dispatcher
        takes the next ones instead of waiting); ``lease_until`` becomes the row's next attempt,
        so a dispatcher that dies while sending leaves its rows to be tried again once the lease
        runs out.
        """
        rows = self.session.execute(_CLAIM_DUE, {"now": now, "limit": limit, "token": token,
                                                  "lease_until": lease_until}).mappings().all()
        return [Claimed(_delivery(row), Message.from_record(row["message"]))
                for row in sorted(rows, key=lambda row: (row["created_at"], row["id"]))]

    def hold(self, delivery_id: str, token: str) -> None:
        """Claim a delivery just added, in the same transaction, for the request that sends it at
        once; its ``next_attempt_at`` (the lease) keeps dispatchers away until then."""
        self.session.execute(update(orm.deliveries).where(orm.deliveries.c.id == delivery_id)
                             .values(claim=token))

    def still_held(self, delivery_ids: list[str], token: str) -> set[str]:
        """Those of ``delivery_ids`` the claim ``token`` still holds (their lease was not taken over)."""
        return set(self.session.scalars(_STILL_HELD, {"ids": list(delivery_ids), "token": token}))

    def save(self, delivery: Delivery) -> None:
        """Write the delivery's status, next attempt and attempts; releases any claim."""
        self.save_all([delivery])

    def save_all(self, deliveries: list[Delivery]) -> None:
        """``save`` for several deliveries, as one statement executed for each."""
        if not deliveries:
            return
        self.session.execute(
            _SAVE,
            [{"b_id": d.id, "b_status": d.status, "b_next": d.next_attempt_at,
              "b_attempts": [a.to_dict() for a in d.attempts]} for d in deliveries])

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
