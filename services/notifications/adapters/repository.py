"""Reading and writing the notifications tables inside a unit of work's session.

Contact details and secrets are sealed on the way in and unsealed on the way out,
so no caller handles ciphertext and nothing personal is stored in clear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.kit.crypto import KeyRing
from services.kit.encrypted import seal, unseal
from services.notifications.adapters import orm
from services.notifications.domain.delivery import DEFERRED, PENDING, Attempt, Delivery
from services.notifications.domain.message import Message
from services.notifications.domain.routing import PendingProposal
from services.notifications.domain.settings import AgencySettings

_OPEN = (PENDING, DEFERRED)


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher holds, with the message it carries."""

    delivery: Delivery
    message: Message


class NotificationsRepository:
    def __init__(self, session: Session, ring: KeyRing) -> None:
        self.session = session
        self.ring = ring

    # -- agency settings ---------------------------------------------------------------

    def settings_of(self, agency_id: str) -> AgencySettings | None:
        """The agency's settings, decrypted; None when it never set any.

        Raises ``DecryptionError`` when a sealed cell was altered or moved.
        """
        row = self.session.execute(
            select(orm.settings).where(orm.settings.c.agency_id == agency_id)).mappings().first()
        if row is None:
            return None
        sealed = {c: row[c] for c in orm.ENCRYPTED[orm.SETTINGS]}
        return AgencySettings.from_record(
            {**row, **unseal(self.ring, orm.SETTINGS, agency_id, sealed)})

    def save_settings(self, settings: AgencySettings, now: datetime) -> None:
        record = settings.to_record()
        clear = {c: record[c] for c in orm.ENCRYPTED[orm.SETTINGS]}
        values = {
            "agency_kind": settings.agency_kind, "roles": list(settings.roles),
            "network_admin": settings.is_network_admin, "language": settings.language,
            "quiet_hours": record["quiet_hours"], "channels": record["channels"],
            "updated_at": now, **seal(self.ring, orm.SETTINGS, settings.agency_id, clear),
        }
        statement = _insert(self.session, orm.settings).values(agency_id=settings.agency_id, **values)
        self.session.execute(statement.on_conflict_do_update(index_elements=["agency_id"], set_=values))

    def network_admins(self) -> list[str]:
        """Ids of the agencies whose settings were saved with the ``admin`` role."""
        c = orm.settings.c
        return list(self.session.scalars(select(c.agency_id).where(c.network_admin.is_(True))))

    # -- deliveries --------------------------------------------------------------------

    def add_delivery(self, delivery: Delivery, message: Message, now: datetime) -> bool:
        """Store a planned delivery; False when one with its key exists (a replayed event)."""
        statement = _insert(self.session, orm.deliveries).values(
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

    def holds_claim(self, delivery_id: str, token: str) -> bool:
        """Whether the claim ``token`` still holds the delivery (its lease was not taken over)."""
        c = orm.deliveries.c
        return self.session.execute(
            select(c.id).where(c.id == delivery_id, c.claim == token)).first() is not None

    def save_delivery(self, delivery: Delivery) -> None:
        """Write the delivery's status, next attempt and attempts; releases any claim."""
        self.session.execute(update(orm.deliveries).where(orm.deliveries.c.id == delivery.id).values(
            status=delivery.status, next_attempt_at=delivery.next_attempt_at,
            attempts=[a.to_dict() for a in delivery.attempts], claim=None))

    def delivery_log(self, agency_id: str, after: tuple[datetime, str] | None,
                     limit: int) -> list[tuple[Delivery, datetime]]:
        """The agency's deliveries, newest first, strictly after the ``(created_at, id)`` cursor."""
        c = orm.deliveries.c
        query = select(orm.deliveries).where(c.agency_id == agency_id)
        if after is not None:
            at, last_id = after
            query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.id < last_id)))
        rows = self.session.execute(
            query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)).mappings()
        return [(_delivery(row), row["created_at"]) for row in rows]

    # -- urgent proposals and handoffs -------------------------------------------------

    def add_pending(self, proposal: PendingProposal) -> None:
        """Remember an urgent proposal until it is answered (idempotent)."""
        self.session.execute(_insert(self.session, orm.pending_proposals).values(
            match_id=proposal.match_id, referral_id=proposal.referral_id,
            referrer_agency_id=proposal.referrer_agency_id,
            mentor_agency_id=proposal.mentor_agency_id, urgency=proposal.urgency,
            proposed_at=proposal.proposed_at,
        ).on_conflict_do_nothing(index_elements=["match_id"]))

    def remove_pending(self, match_id: str) -> None:
        self.session.execute(
            delete(orm.pending_proposals).where(orm.pending_proposals.c.match_id == match_id))

    def unescalated(self) -> list[PendingProposal]:
        """Urgent proposals still waiting for an answer that were not escalated yet."""
        c = orm.pending_proposals.c
        rows = self.session.execute(select(orm.pending_proposals).where(c.escalated_at.is_(None)))
        return [PendingProposal(r.match_id, r.referral_id, r.referrer_agency_id,
                                r.mentor_agency_id, r.urgency, r.proposed_at) for r in rows]

    def mark_escalated(self, match_ids: Iterable[str], now: datetime) -> None:
        ids = list(match_ids)
        if ids:
            c = orm.pending_proposals.c
            self.session.execute(
                update(orm.pending_proposals).where(c.match_id.in_(ids)).values(escalated_at=now))

    def remember_handoff(self, participant_id: str, agency_id: str, now: datetime) -> None:
        """Record that ``agency_id`` was assigned the participant's referral (idempotent)."""
        self.session.execute(_insert(self.session, orm.handoffs).values(
            participant_id=participant_id, agency_id=agency_id, recorded_at=now,
        ).on_conflict_do_nothing(index_elements=["participant_id", "agency_id"]))

    def handoff_agencies(self, participant_id: str) -> list[str]:
        c = orm.handoffs.c
        return list(self.session.scalars(
            select(c.agency_id).where(c.participant_id == participant_id).order_by(c.agency_id)))


def _insert(session: Session, table):
    """The dialect's INSERT, which knows ``ON CONFLICT`` on both SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _delivery(row) -> Delivery:
    return Delivery(
        id=row["id"], agency_id=row["agency_id"], channel=row["channel"],
        event_id=row["event_id"], event_type=row["event_type"], status=row["status"],
        next_attempt_at=row["next_attempt_at"],
        attempts=[Attempt.from_dict(a) for a in row["attempts"]],
    )
