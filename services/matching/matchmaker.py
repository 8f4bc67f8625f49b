"""The steps every matching handler is made of: propose, waitlist, withdraw, release, close.

A ``Matchmaker`` works inside one open unit of work: its changes and the events they give rise
to (staged in the outbox) commit together or not at all. No nameko here.

Places: an accepted match takes one of its mentor's places (``caseload``, a database CHECK and
a conditional UPDATE); an open proposal *holds* one while a coordinator decides, so online picks
do not pile every new referral onto the same mentor. A hold is taken with the mentor's row
locked and the places counted again (``MentorRepository.take_hold``), so concurrent picks never
hold more places than a mentor has. Only a capacity lowered below its open proposals leaves a
mentor over-held, until they are decided or the batch re-solve moves them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from services.matching.adapters.mentors import MentorRepository
from services.matching.adapters.repository import MatchingRepository, criteria_of, scope_of
from services.matching.domain import (
    DEFAULT_WEIGHTS,
    Mentor,
    MentorTable,
    Proposal,
    Weights,
    proposal_for,
)
from services.matching.registry_cache import CachedRegistry, StaleRegistry, mentor_table

log = logging.getLogger(__name__)
NO_FITTING_MENTOR = "no_fitting_mentor"


@dataclass(frozen=True)
class MatchingPolicy:
    """Settings from config: ``WEIGHTS`` (per factor) and ``PROPOSAL_TTL_HOURS``."""

    weights: Weights = DEFAULT_WEIGHTS
    proposal_ttl: timedelta = timedelta(hours=48)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MatchingPolicy:
        """Raises ``ValueError`` for an unknown factor, a negative weight or a bad TTL."""
        hours = float(config.get("PROPOSAL_TTL_HOURS", 48))
        if hours <= 0:
            raise ValueError(f"PROPOSAL_TTL_HOURS must be positive: {hours}")
        return cls(Weights.from_dict(config.get("WEIGHTS")), timedelta(hours=hours))


class Matchmaker:
    """Matching steps within one unit of work, at one instant ``now``."""

    def __init__(self, uow, policy: MatchingPolicy, now: datetime,
                 registry: CachedRegistry | None = None) -> None:
        """``registry``: the replica's cached mentor registry, for transactions that do not
        change mentors themselves (a refresh sees committed details only)."""
        self.uow = uow
        self.registry = registry
        self.repo = MatchingRepository(uow.session)
        self.mentors = MentorRepository(uow.session)
        self.policy = policy
        self.now = now
        self.today = now.date()
        self._full: set[str] = set()  # mentors found without a place (or busy) in this transaction

    # -- proposing ----------------------------------------------------------------------------

    def propose_next(self, referral: Row, *, announce_waitlist: bool = True) -> dict | None:
        """Propose the best mentor to a locked, open referral that has no live match.

        Mentors who declined it or let it expire, and agencies taken off its consent, are left
        out. Without a fitting mentor the referral waits (``match.waitlisted``). Returns the match.
        """
        criteria = criteria_of(referral)
        mentor = self._choose(referral, criteria, self.repo.excluded([referral])[referral.id])
        if mentor is None:
            if announce_waitlist:
                self.waitlisted(referral)
            return None
        return self.record(proposal_for(mentor, criteria, self.policy.weights))

    def fill_waitlist(self) -> int:
        """Propose to waiting referrals, urgent then oldest first, while mentors have places.

        Referrals another transaction is working on are skipped (it will see to them).
        """
        ids = self.repo.waitlist()
        if not ids:
            return 0
        locked = {row.id: row for row in self.repo.lock_referrals(ids, skip_locked=True)}
        live = self.repo.live_matches(locked)
        waiting = [locked[i] for i in ids if i in locked and i not in live]
        if not waiting:
            return 0
        table = None
        if self.registry is None:  # one table for the whole waitlist, holds kept up to date
            table = mentor_table(self.mentors.open_mentors(self.today), self.policy.weights)
        excluded = self.repo.excluded(waiting)
        proposed = 0
        for referral in waiting:
            criteria = criteria_of(referral)
            mentor = self._choose(referral, criteria, excluded[referral.id], table)
            if mentor is None:
                continue
            self.record(proposal_for(mentor, criteria, self.policy.weights))
            if table is not None:  # the new proposal holds a place
                table.set_caseload(mentor.id, table.mentor(mentor.id).caseload + 1)
            proposed += 1
        return proposed

    def _choose(self, referral: Row, criteria, excluded: set[str],
                table: MentorTable | None = None) -> Mentor | None:
        """The best mentor with a place left (never one in ``excluded``), its place held for the
        proposal (``take_hold``): the next best when another transaction took it first."""
        excluded = set(excluded) | self._full
        while (mentor := self._best(referral, criteria, excluded, table)) is not None:
            if self.mentors.take_hold(mentor.id):
                return mentor
            excluded.add(mentor.id)
            self._full.add(mentor.id)
        return None

    def _best(self, referral: Row, criteria, excluded: set[str],
              table: MentorTable | None) -> Mentor | None:
        """The best fitting mentor: from the cached registry if there is one, else from
        ``table`` or a table read for this referral."""
        if self.registry is not None:
            try:
                return self.registry.pick(self.mentors, criteria, today=self.today, exclude=excluded)
            except StaleRegistry:
                log.info("cached mentor registry was stale; picking from the database")
        if table is None:
            table = mentor_table(self.mentors.open_mentors(self.today, scope=scope_of(referral)),
                                 self.policy.weights)
        pick = table.pick(criteria, today=self.today, exclude=excluded)
        return None if pick is None else table.mentor_at(pick.row)

    def record(self, proposal: Proposal) -> dict:
        """Store a proposal as a ``proposed`` match and stage ``match.proposed``."""
        match = {
            "id": str(uuid.uuid4()), **proposal.to_payload_fields(), "status": "proposed",
            "proposed_at": self.now, "expires_at": self.now + self.policy.proposal_ttl,
        }
        self.repo.add_match(match)
        self.publish("match.proposed", match)
        return match

    def waitlisted(self, referral: Row, reason_code: str = NO_FITTING_MENTOR) -> None:
        self.uow.publish("match.waitlisted", {
            "referral_id": referral.id, "referrer_agency_id": referral.referrer_agency_id,
            "urgency": referral.urgency, "reason_code": reason_code,
        }, aggregate_id=referral.id)

    def publish(self, type_: str, match: Mapping[str, Any], reason_code: str | None = None) -> None:
        """Stage a ``MatchV1`` event: ids, score and explanation; nothing about a person."""
        expires_at = match.get("expires_at")
        self.uow.publish(type_, {
            "match_id": match["id"], "referral_id": match["referral_id"],
            "referrer_agency_id": match["referrer_agency_id"], "mentor_id": match["mentor_id"],
            "mentor_agency_id": match["mentor_agency_id"], "urgency": match["urgency"],
            "score": match["score"], "explanation": list(match["explanation"]),
            "expires_at": expires_at.isoformat() if expires_at else None,
            "reason_code": reason_code,
        }, aggregate_id=match["referral_id"])

    # -- ending -------------------------------------------------------------------------------

    def withdraw(self, match: Row, reason_code: str) -> bool:
        """Take back a live match for a reason outside the mentor's agency; frees its place.

        False when the match was decided meanwhile (then nothing changed).
        """
        if not self.repo.move_match(match.id, match.status, "withdrawn", self.now,
                                    reason_code=reason_code):
            return False
        if match.status == "accepted":
            self.release(match)
        self._full.discard(match.mentor_id)  # a withdrawn proposal held a place there
        self.publish("match.withdrawn", match._mapping, reason_code)
        return True

    def release(self, match: Row) -> bool:
        """The mentor's place taken by an accepted match is free again (once)."""
        if not self.repo.release(match.id, self.now):
            return False
        self.mentors.free_place(match.mentor_id)
        self._full.discard(match.mentor_id)
        return True

    def close(self, referral: Row, reason_code: str, *, withdraw_accepted: bool) -> None:
        """Stop matching a locked referral: withdraw its proposal, free its mentor's place.

        An accepted match is withdrawn too when ``withdraw_accepted`` (consent ended), else it
        stays accepted and only stops counting towards the caseload (the referral closed).
        """
        live = self.repo.live_matches([referral.id]).get(referral.id)
        if live is not None and (live.status == "proposed" or withdraw_accepted):
            self.withdraw(live, reason_code)
        elif live is not None:
            self.release(live)
        self.repo.close_referral(referral.id, reason_code, self.now)
