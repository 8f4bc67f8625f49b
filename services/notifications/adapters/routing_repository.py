"""What routing remembers between events: urgent proposals awaiting an answer, handoffs and
consent endings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Insert, bindparam, delete, select, update
from sqlalchemy.orm import Session

from services.kit.contract import Event, parse_event
from services.kit.db import hold_transaction_lock, insert_for
from services.notifications.adapters import orm
from services.notifications.domain.routing import PendingProposal

# Built once: routing runs them for every event it consumes.
_PENDING, _HANDOFFS, _ENDINGS = orm.pending_proposals.c, orm.handoffs.c, orm.consent_endings.c
_REMOVE_PENDING = delete(orm.pending_proposals).where(_PENDING.match_id == bindparam("match_id"))
_ENDINGS_AFTER = (select(_ENDINGS.event)
                  .where(_ENDINGS.participant_id == bindparam("participant_id"),
                         _ENDINGS.occurred_at > bindparam("moment"))
                  .order_by(_ENDINGS.occurred_at))
_AGENCIES_OF = (select(_HANDOFFS.agency_id).where(_HANDOFFS.participant_id == bindparam("participant_id"))
                .order_by(_HANDOFFS.agency_id))


class RoutingInserts(NamedTuple):
    """Routing's idempotent INSERTs (``ON CONFLICT DO NOTHING``) for one dialect."""

    pending_proposal: Insert
    handoff: Insert
    consent_ending: Insert


def routing_inserts(session: Session) -> RoutingInserts:
    """Built once per dialect: routing runs them for every event it consumes."""
    return _routing_inserts(session.get_bind().dialect.name)


@cache
def _routing_inserts(dialect: str) -> RoutingInserts:
    return RoutingInserts(
        pending_proposal=(insert_for(dialect)(orm.pending_proposals)
                          .on_conflict_do_nothing(index_elements=["match_id"])),
        handoff=(insert_for(dialect)(orm.handoffs)
                 .on_conflict_do_nothing(index_elements=["participant_id", "agency_id"])),
        consent_ending=(insert_for(dialect)(orm.consent_endings)
                        .on_conflict_do_nothing(index_elements=["event_id"])),
    )


class PendingProposalRepository:
    """Urgent proposals, kept until answered, so network admins hear of those left waiting."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, proposal: PendingProposal) -> None:
        """Remember an urgent proposal until it is answered (idempotent)."""
        self.session.execute(routing_inserts(self.session).pending_proposal, {
            "match_id": proposal.match_id, "referral_id": proposal.referral_id,
            "referrer_agency_id": proposal.referrer_agency_id,
            "mentor_agency_id": proposal.mentor_agency_id, "urgency": proposal.urgency,
            "proposed_at": proposal.proposed_at,
        })

    def remove(self, match_id: str) -> None:
        self.session.execute(_REMOVE_PENDING, {"match_id": match_id})

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
        self.session.execute(routing_inserts(self.session).handoff, {
            "participant_id": participant_id, "agency_id": agency_id, "recorded_at": now})

    def hold(self, participant_id: str) -> None:
        """Until commit, keep other handlers of this participant's handoffs and endings waiting."""
        hold_transaction_lock(self.session, f"notifications.handoffs:{participant_id}")

    def remember_ending(self, event: Event) -> None:
        """Keep a ``consent.revoked`` or ``consent.expired`` event (idempotent)."""
        self.session.execute(routing_inserts(self.session).consent_ending, {
            "event_id": event.id, "participant_id": event.payload["participant_id"],
            "occurred_at": event.occurred_at, "event": event.to_message()})

    def endings_after(self, participant_id: str, moment: datetime) -> list[Event]:
        """The participant's consent endings that happened after ``moment``, oldest first."""
        rows = self.session.scalars(_ENDINGS_AFTER, {"participant_id": participant_id, "moment": moment})
        return [parse_event(row) for row in rows]

    def agencies_of(self, participant_id: str) -> list[str]:
        """The agencies that received the participant's handoff, by id."""
        return list(self.session.scalars(_AGENCIES_OF, {"participant_id": participant_id}))
