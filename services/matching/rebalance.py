"""The batch re-solve: the waitlist and every open proposal, matched as one assignment problem.

Online picks are greedy (first come, best free mentor) and lose a few percent of total fit when
mentors are scarce; the periodic re-solve recovers it. Accepted matches are never
touched: their places are simply not available. A proposal moves only for a real gain (the
solver's ``current`` tie-break); a moved proposal is withdrawn (``rebalanced``) and the new
one proposed, each with its event. No nameko here.
"""

from __future__ import annotations

from services.matching.adapters.repository import criteria_of
from services.matching.domain import proposal_for, solve_batch
from services.matching.matchmaker import Matchmaker
from services.matching.registry_cache import mentor_table

REBALANCED = "rebalanced"


def rebalance(matchmaker: Matchmaker) -> dict[str, int]:
    """Re-solve and apply; returns counts: ``considered``, ``kept``, ``withdrawn``,
    ``proposed`` (new proposals) and ``waitlisted`` (left without a mentor)."""
    repo = matchmaker.repo
    repo.lock_rebalance()
    rows = repo.lock_referrals(repo.unaccepted())
    live = repo.live_matches(row.id for row in rows)
    # Accepted between the listing and the lock: no longer ours to move.
    rows = [row for row in rows if row.id not in live or live[row.id].status == "proposed"]
    counts = {"considered": len(rows), "kept": 0, "withdrawn": 0, "proposed": 0, "waitlisted": 0}
    if not rows:
        return counts
    waiting = [criteria_of(row) for row in rows]
    # With every mentor row locked, no place is taken while we decide. The open proposals
    # re-decided here hold no place; those of referrals created since the listing still do.
    matchmaker.mentors.lock_open_mentors(matchmaker.today)
    open_mentors = matchmaker.mentors.open_mentors(matchmaker.today, holds_except=[r.id for r in rows])
    table = mentor_table(open_mentors, matchmaker.policy.weights)
    current = {referral_id: match.mentor_id for referral_id, match in live.items()
               if match.status == "proposed"}
    result = solve_batch(waiting, table, today=matchmaker.today, declined=repo.excluded(rows),
                         current=current)
    chosen = {a.referral_id: a.mentor_id for a in result.assignments}
    counts["waitlisted"] = len(result.waitlisted)
    for row, criteria in zip(rows, waiting, strict=True):
        old, new = live.get(row.id), chosen.get(row.id)
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
            matchmaker.waitlisted(row, REBALANCED)
    return counts
