"""The steps every matching handler is made of: propose, waitlist, withdraw, release, close.

A ``Matchmaker`` works inside one open unit of work (``uow.referrals``, ``uow.matches``,
``uow.mentors``): its changes and the events they give rise to (staged in the outbox) commit
together or not at all. No nameko here.

Places: an accepted match takes one of its mentor's places (``caseload``, a database CHECK and
a conditional UPDATE); an open proposal *holds* one while a coordinator decides, so online picks
do not pile every new referral onto the same mentor. A hold is taken with the mentor's row
locked (``lock_for_hold``) by the proposal's own INSERT, which counts the places left and stores
nothing when none is (``has_place``), so concurrent picks never hold more places than a mentor
has. Only a capacity lowered below its open proposals leaves a mentor over-held, until they are
decided or the batch re-solve moves them.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from services.matching.adapters.registry_cache import CachedRegistry, StaleRegistry, mentor_table
from services.matching.domain import Mentor, MentorTable, Proposal, ReferralCriteria, proposal_for
from services.matching.domain.match import PROPOSED, Match, MatchEvent, waitlisted
from services.matching.domain.policy import MatchingPolicy
from services.matching.domain.referral import NO_FITTING_MENTOR, Referral

log = logging.getLogger(__name__)


def stage(uow, events: list[MatchEvent]) -> None:
    """Stage recorded events in the unit of work's outbox, and forget them."""
    for event in events:
        uow.publish(event.type, event.payload, aggregate_id=event.aggregate_id)
    events.clear()


def store(uow, match: Match) -> bool:
    """Save a match's transition and stage its events; False (nothing staged) when another
    transaction decided the match first."""
    if not uow.matches.save(match):
        match.events.clear()
        return False
    stage(uow, match.events)
    return True


class Matchmaker:
    """Matching steps within one unit of work, at one instant ``now``."""

    def __init__(self, uow, policy: MatchingPolicy, now: datetime,
                 registry: CachedRegistry | None = None) -> None:
        """``registry``: the replica's cached mentor registry, for transactions that do not
        change mentors themselves (a refresh sees committed details only)."""
        self.uow = uow
        self.registry = registry
        self.policy = policy
        self.now = now
        self.today = now.date()
        self._full: set[str] = set()  # mentors found without a place (or busy) in this transaction

    # -- proposing ----------------------------------------------------------------------------

    def propose_next(self, referral: Referral, *, announce_waitlist: bool = True,
                     new: bool = False) -> Match | None:
        """Propose the best mentor to a locked, open referral that has no live match.

        Mentors who declined it or let it expire, and agencies taken off its consent, are left
        out; ``new`` for a referral stored in this transaction (``add_new``), which no mentor
        can have declined yet. Without a fitting mentor the referral waits (``match.waitlisted``).
        Returns the match.
        """
        criteria = referral.matching_criteria()
        referrals = self.uow.referrals
        excluded = referrals.blocked_mentors(referral) if new else referrals.excluded([referral])[referral.id]
        match = self._propose(criteria, excluded, referral=referral)
        if match is None and announce_waitlist:
            self.waitlisted(referral)
        return match

    def fill_waitlist(self) -> int:
        """Propose to waiting referrals, urgent then oldest first, while mentors have places.

        Referrals another transaction is working on are skipped (it will see to them).
        """
        ids = self.uow.referrals.waitlist()
        if not ids:
            return 0
        locked = {r.id: r for r in self.uow.referrals.lock(ids, skip_locked=True)}
        live = self.uow.matches.live(locked)
        waiting = [locked[i] for i in ids if i in locked and i not in live]
        if not waiting:
            return 0
        table = None
        if self.registry is None:  # one table for the whole waitlist, holds kept up to date
            table = mentor_table(self.uow.mentors.open_mentors(self.today), self.policy.weights)
        excluded = self.uow.referrals.excluded(waiting)
        proposed = 0
        for referral in waiting:
            criteria = referral.matching_criteria()
            match = self._propose(criteria, excluded[referral.id], table=table, referral=referral)
            if match is None:
                continue
            if table is not None:  # the new proposal holds a place
                table.set_caseload(match.mentor_id, table.mentor(match.mentor_id).caseload + 1)
            proposed += 1
        return proposed

    def _propose(self, criteria: ReferralCriteria, excluded: set[str], *, table: MentorTable | None = None,
                 referral: Referral | None = None) -> Match | None:
        """Propose the best mentor with a place left (never one in ``excluded``) and stage
        ``match.proposed``; the next best when another transaction took the last place first.

        The proposal holds its place: with the mentor's row locked (``lock_for_hold``), its row
        is inserted only if the mentor still has a place (``has_place``), in one statement.
        """
        excluded = set(excluded) | self._full
        mentors = self.uow.mentors
        while (mentor := self._best(criteria, excluded, table, referral)) is not None:
            if mentors.lock_for_hold(mentor.id):
                match = self.record(proposal_for(mentor, criteria, self.policy.weights),
                                    only_if=mentors.has_place(mentor.id, self.today))
                if match is not None:
                    return match
            excluded.add(mentor.id)
            self._full.add(mentor.id)
        return None

    def _best(self, criteria: ReferralCriteria, excluded: set[str], table: MentorTable | None,
              referral: Referral | None) -> Mentor | None:
        """The best fitting mentor: from the cached registry if there is one, else from
        ``table`` or a table read for this referral's scope."""
        if self.registry is not None:
            try:
                return self.registry.pick(self.uow.mentors, criteria, today=self.today, exclude=excluded)
            except StaleRegistry:
                log.info("cached mentor registry was stale; picking from the database")
        if table is None:
            scope = referral.scope() if referral is not None else None
            table = mentor_table(self.uow.mentors.open_mentors(self.today, scope=scope),
                                 self.policy.weights)
        pick = table.pick(criteria, today=self.today, exclude=excluded)
        return None if pick is None else table.mentor_at(pick.row)

    def record(self, proposal: Proposal, *, only_if=None) -> Match | None:
        """Store a proposal as a ``proposed`` match and stage ``match.proposed``; with ``only_if``
        (a SQL ``Condition``, e.g. ``has_place``) only when it holds in the same statement, else
        None. The batch re-solve records unconditionally: it has every open mentor's row locked
        and counted."""
        match = Match.propose(str(uuid.uuid4()), proposal, self.now, self.policy.proposal_ttl)
        if not self.uow.matches.add(match, only_if=only_if):
            return None
        stage(self.uow, match.events)
        return match

    def waitlisted(self, referral: Referral, reason_code: str = NO_FITTING_MENTOR) -> None:
        stage(self.uow, [waitlisted(referral, reason_code)])

    # -- ending -------------------------------------------------------------------------------

    def withdraw(self, match: Match, reason_code: str) -> bool:
        """Take back a live match for a reason outside the mentor's agency; frees its place.

        False when the match was decided meanwhile (then nothing changed).
        """
        if not match.is_live:
            return False
        frees_place = match.withdraw(reason_code, self.now)
        if not store(self.uow, match):
            return False
        if frees_place:
            self.uow.mentors.free_place(match.mentor_id)
        self._full.discard(match.mentor_id)  # a withdrawn proposal held a place there
        return True

    def release(self, match: Match) -> bool:
        """The mentor's place taken by an accepted match is free again (once)."""
        if not match.release(self.now) or not store(self.uow, match):
            return False
        self.uow.mentors.free_place(match.mentor_id)
        self._full.discard(match.mentor_id)
        return True

    def close(self, referral: Referral, reason_code: str, *, withdraw_accepted: bool) -> None:
        """Stop matching a locked referral: withdraw its proposal, free its mentor's place.

        An accepted match is withdrawn too when ``withdraw_accepted`` (consent ended), else it
        stays accepted and only stops counting towards the caseload (the referral closed).
        """
        live = self.uow.matches.live([referral.id]).get(referral.id)
        if live is not None and (live.status == PROPOSED or withdraw_accepted):
            self.withdraw(live, reason_code)
        elif live is not None:
            self.release(live)
        self.uow.referrals.save(referral.closed(reason_code, self.now))
