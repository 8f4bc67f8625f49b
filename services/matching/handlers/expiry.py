"""The expiry timer: proposals nobody decided in time move on. No nameko here."""

from __future__ import annotations

from datetime import datetime

from services.matching.adapters.registry_cache import CachedRegistry
from services.matching.domain.commands import ExpireProposals
from services.matching.domain.policy import MatchingPolicy
from services.matching.handlers.matchmaker import Matchmaker, store


def expire_proposals(command: ExpireProposals, uow, policy: MatchingPolicy, now: datetime,
                     registry: CachedRegistry | None = None) -> int:
    """Expire proposals past ``expires_at`` (``match.expired``); each referral moves to its next
    best mentor, never back to one who let it expire. Returns how many expired.

    Referrals another transaction is working on wait for the next tick.
    """
    with uow:
        matchmaker = Matchmaker(uow, policy, now, registry)
        due = uow.matches.due(now, command.batch)
        locked = {r.id: r for r in uow.referrals.lock({m.referral_id for m in due}, skip_locked=True)}
        expired = 0
        for match in due:
            referral = locked.get(match.referral_id)
            if referral is None:
                continue
            match.expire(now)
            if not store(uow, match):
                continue  # decided meanwhile
            uow.referrals.exclude(referral.id, match.mentor_id, "expired", now)
            matchmaker.propose_next(referral)
            expired += 1
        if expired:
            matchmaker.fill_waitlist()
        uow.commit()
    return expired
