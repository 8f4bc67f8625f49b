"""How matching reacts to referrals' and consent's events, and what its timers do. No nameko.

Reactions run inside ``uow.handle`` (the kit's inbox): they commit once per event and a
redelivery is skipped. Raising makes the kit retry with backoff, then park the event.
``registry`` is the replica's cached mentor registry (None: read mentors from the database).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from services.kit.vocabulary import FINAL_REFERRAL_STATUSES
from services.matching.adapters.repository import MatchingRepository, scope_of
from services.matching.domain import ConsentScope, ReferralCriteria
from services.matching.matchmaker import MatchingPolicy, Matchmaker
from services.matching.registry_cache import CachedRegistry

EXPIRED = "ttl"
CONSENT_CODES = {"consent.revoked": "consent_revoked", "consent.expired": "consent_expired"}
EXPIRY_BATCH = 200


def on_referral_requested(event, uow, policy: MatchingPolicy, now: datetime,
                          registry: CachedRegistry | None = None) -> None:
    """Keep the criteria and propose the best mentor at once, or waitlist the referral.

    A second ``referral.requested`` for a known referral (under another event id) changes
    nothing. Raises ``ValueError`` for criteria the domain refuses (retried, then parked).
    """
    payload = event.payload
    repo = MatchingRepository(uow.session)
    if repo.referral(payload["referral_id"]) is not None:
        return
    ReferralCriteria.from_requested(payload)  # refuse what could never be matched, before storing
    scope = ConsentScope.of(payload["allowed"], payload["allowed"].get("excluded", ()))
    repo.add_referral({
        "id": payload["referral_id"], "referrer_agency_id": payload["referrer_agency_id"],
        "participant_id": payload["participant_id"], "consent_id": payload["consent_id"],
        "urgency": payload["urgency"], "allowed": scope.to_allowed(),
        "blocked_agencies": sorted(scope.blocked), "criteria": payload["criteria"], "requested_at": now,
    })
    Matchmaker(uow, policy, now, registry).propose_next(repo.lock_referral(payload["referral_id"]))


def on_referral_status_changed(event, uow, policy: MatchingPolicy, now: datetime,
                               registry: CachedRegistry | None = None) -> None:
    """A referral that ended (cancelled, rejected, completed, failed) is matched no more: its
    proposal is withdrawn or its mentor's place freed, and the waitlist gets the place."""
    payload = event.payload
    if payload["to_status"] not in FINAL_REFERRAL_STATUSES:
        return
    matchmaker, reason = Matchmaker(uow, policy, now, registry), f"referral_{payload['to_status']}"
    repo = matchmaker.repo
    referral = repo.lock_referral(payload["referral_id"])
    if referral is None:
        if repo.referral(payload["referral_id"]) is None:  # the request has not arrived yet
            repo.add_tombstone(payload["referral_id"], payload["referrer_agency_id"],
                               payload["participant_id"], payload["urgency"], reason, now)
        return
    matchmaker.close(referral, reason, withdraw_accepted=False)
    matchmaker.fill_waitlist()


def on_consent_ended(event, uow, policy: MatchingPolicy, now: datetime,
                     registry: CachedRegistry | None = None) -> None:
    """``consent.revoked`` / ``consent.expired``: stop matching what no longer rests on consent.

    Expiry or full revocation: the referrals that relied on the consent are closed, their
    proposals and accepted matches withdrawn (``consent_revoked`` / ``consent_expired``) and
    their mentors' places freed. A partial revocation narrows each referral to the peer groups
    still covered and withdraws only the matches with agencies taken off.
    """
    payload, code = event.payload, CONSENT_CODES[event.type]
    partial = event.type == "consent.revoked" and not payload["full"]
    matchmaker = Matchmaker(uow, policy, now, registry)
    repo = matchmaker.repo
    referrals = repo.lock_referrals(repo.relying_on(payload["consent_id"]))
    # Places may be freed at several mentors: lock their rows first, in order (see adapters).
    live = repo.live_matches(r.id for r in referrals).values()
    matchmaker.mentors.lock_rows([m.mentor_id for m in live if m.status == "accepted"])
    for referral in referrals:
        if partial:
            _narrow(matchmaker, referral, payload, code)
        else:
            matchmaker.close(referral, code, withdraw_accepted=True)
    matchmaker.fill_waitlist()


def _narrow(matchmaker: Matchmaker, referral: Row, payload: dict[str, Any], code: str) -> None:
    repo = matchmaker.repo
    scope = scope_of(referral).narrowed(payload["revoked"], payload["remaining"])
    repo.set_scope(referral.id, scope)
    live = repo.live_matches([referral.id]).get(referral.id)
    kind = live and matchmaker.mentors.mentor(live.mentor_id).agency_kind
    covered = live is None or scope.covers(live.mentor_agency_id, kind)
    if scope.empty or (live is not None and live.status == "accepted" and not covered):
        # The referrals service cancels such a referral too; its place is freed here at once.
        matchmaker.close(referral, code, withdraw_accepted=True)
    elif not covered and matchmaker.withdraw(live, code):
        matchmaker.propose_next(repo.referral(referral.id))


def expire_proposals(uow, policy: MatchingPolicy, now: datetime,
                     registry: CachedRegistry | None = None) -> int:
    """Expire proposals past ``expires_at`` (``match.expired``); each referral moves to its next
    best mentor, never back to one who let it expire. Returns how many expired."""
    matchmaker = Matchmaker(uow, policy, now, registry)
    repo = matchmaker.repo
    due = repo.due_proposals(now, EXPIRY_BATCH)
    # Referrals another transaction is working on wait for the next tick.
    locked = {r.id: r for r in repo.lock_referrals({d.referral_id for d in due}, skip_locked=True)}
    expired = 0
    for match_id, referral_id in due:
        referral = locked.get(referral_id)
        if referral is None or not repo.move_match(match_id, "proposed", "expired", now,
                                                   reason_code=EXPIRED):
            continue
        match = repo.match(match_id)
        repo.exclude(referral_id, match.mentor_id, "expired", now)
        matchmaker.publish("match.expired", match._mapping, EXPIRED)
        matchmaker.propose_next(referral)
        expired += 1
    if expired:
        matchmaker.fill_waitlist()
    return expired
