"""The batch re-solve: the waitlist and every open proposal, matched as one assignment problem.

Online picks are greedy (first come, best free mentor) and lose a few percent of total fit when
mentors are scarce; the periodic re-solve recovers it. Accepted matches are never touched:
their places are simply not available. A proposal moves only for a real gain (the solver's
``current`` tie-break); a moved proposal is withdrawn (``rebalanced``) and the new one proposed,
each with its event. No nameko here.
"""

from __future__ import annotations

from datetime import datetime

from services.matching.adapters.registry_cache import mentor_table
from services.matching.domain import proposal_for, solve_batch
from services.matching.domain.commands import Rebalance
from services.matching.domain.match import PROPOSED
from services.matching.domain.policy import MatchingPolicy
from services.matching.handlers.matchmaker import Matchmaker

REBALANCED = "rebalanced"


def rebalance(command: Rebalance, uow, policy: MatchingPolicy, now: datetime) -> dict[str, int]:
    """Re-solve and apply; returns counts: ``considered``, ``kept``, ``withdrawn``,
    ``proposed`` (new proposals) and ``waitlisted`` (left without a mentor)."""
    with uow:
        counts = _rebalance(Matchmaker(uow, policy, now))
        uow.commit()
    return counts


def _rebalance(matchmaker: Matchmaker) -> dict[str, int]:
    uow, today = matchmaker.uow, matchmaker.today
    uow.matches.lock_rebalance()
    referrals = uow.referrals.lock(uow.referrals.unaccepted())
    live = uow.matches.live(r.id for r in referrals)
    # Accepted between the listing and the lock: no longer ours to move.
    referrals = [r for r in referrals if r.id not in live or live[r.id].status == PROPOSED]
    counts = {"considered": len(referrals), "kept": 0, "withdrawn": 0, "proposed": 0, "waitlisted": 0}
    if not referrals:
        return counts
    waiting = [r.matching_criteria() for r in referrals]
    # With every mentor row locked, no place is taken while we decide. The open proposals
    # re-decided here hold no place; those of referrals created since the listing still do.
    uow.mentors.lock_open_mentors(today)
    open_mentors = uow.mentors.open_mentors(today, holds_except=[r.id for r in referrals])
    table = mentor_table(open_mentors, matchmaker.policy.weights)
    current = {referral_id: match.mentor_id for referral_id, match in live.items()
               if match.status == PROPOSED}
    result = solve_batch(waiting, table, today=today, declined=uow.referrals.excluded(referrals),
                         current=current)
    chosen = {a.referral_id: a.mentor_id for a in result.assignments}
    counts["waitlisted"] = len(result.waitlisted)
    for referral, criteria in zip(referrals, waiting, strict=True):
        old, new = live.get(referral.id), chosen.get(referral.id)
        if old is not None and old.mentor_id == new:
            counts["kept"] += 1
            continue
        if old is not None:
            if not matchmaker.withdraw(old, REBALANCED):
                continue  # decided meanwhile (the row lock makes this rare): leave it be
            counts["withdrawn"] += 1
        if new is not None:
            matchmaker.record(proposal_for(table.mentor(new), criteria, matchmaker.policy.weights))
            counts["proposed"] += 1
        elif old is not None:
            matchmaker.waitlisted(referral, REBALANCED)
    return counts
