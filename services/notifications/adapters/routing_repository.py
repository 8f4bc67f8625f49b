"""What routing remembers between events: urgent proposals awaiting an answer, handoffs and
consent endings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.kit.contract import Event, parse_event
from services.kit.db import dialect_insert, hold_transaction_lock
from services.notifications.adapters import orm
from services.notifications.domain.routing import PendingProposal


class PendingProposalRepository:
    """Urgent proposals, kept until answered, so network admins hear of those left waiting."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, proposal: PendingProposal) -> None:
        """Remember an urgent proposal until it is answered (idempotent)."""
        self.session.execute(dialect_insert(self.session, orm.pending_proposals).values(
            match_id=proposal.match_id, referral_id=proposal.referral_id,
            referrer_agency_id=proposal.referrer_agency_id,
            mentor_agency_id=proposal.mentor_agency_id, urgency=proposal.urgency,
            proposed_at=proposal.proposed_at,
        ).on_conflict_do_nothing(index_elements=["match_id"]))

    def remove(self, match_id: str) -> None:
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


class HandoffRepository:
    """Agencies that received a participant's handoff, and the consent endings heard so far.

    An agency that received a handoff hears when that consent ends. The acceptance and the end
    come from different services, so either may arrive first; the handlers ``hold`` the
    participant while they read one and write the other, and neither order loses the message.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def remember(self, participant_id: str, agency_id: str, now: datetime) -> None:
        """Record that ``agency_id`` was assigned the participant's referral (idempotent)."""
        self.session.execute(dialect_insert(self.session, orm.handoffs).values(
            participant_id=participant_id, agency_id=agency_id, recorded_at=now,
        ).on_conflict_do_nothing(index_elements=["participant_id", "agency_id"]))

    def hold(self, participant_id: str) -> None:
        """Until commit, keep other handlers of this participant's handoffs and endings waiting."""
        hold_transaction_lock(self.session, f"notifications.handoffs:{participant_id}")

    def remember_ending(self, event: Event) -> None:
        """Keep a ``consent.revoked`` or ``consent.expired`` event (idempotent)."""
        self.session.execute(dialect_insert(self.session, orm.consent_endings).values(
            event_id=event.id, participant_id=event.payload["participant_id"],
            occurred_at=event.occurred_at, event=event.to_message(),
        ).on_conflict_do_nothing(index_elements=["event_id"]))

    def endings_after(self, participant_id: str, moment: datetime) -> list[Event]:
        """The participant's consent endings that happened after ``moment``, oldest first."""
        c = orm.consent_endings.c
        rows = self.session.scalars(select(c.event).where(
            c.participant_id == participant_id, c.occurred_at > moment).order_by(c.occurred_at))
        return [parse_event(row) for row in rows]

    def agencies_of(self, participant_id: str) -> list[str]:
        """The agencies that received the participant's handoff, by id."""
        c = orm.handoffs.c
        return list(self.session.scalars(
            select(c.agency_id).where(c.participant_id == participant_id).order_by(c.agency_id)))
