"""How matching reacts to referrals' and consent's events. No nameko here.

Each runs inside ``uow.handle`` (the kit's inbox): the unit of work is open, the effect commits
once per event and a redelivery is skipped. Raising makes the kit retry with backoff, then park
the event. ``registry`` is the replica's cached mentor registry (None: read from the database).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.kit.vocabulary import FINAL_REFERRAL_STATUSES
from services.matching.adapters.registry_cache import CachedRegistry
from services.matching.domain.match import ACCEPTED
from services.matching.domain.policy import MatchingPolicy
from services.matching.domain.referral import Referral
from services.matching.handlers.matchmaker import Matchmaker

CANCELLED = "cancelled"
CONSENT_CODES = {"consent.revoked": "consent_revoked", "consent.expired": "consent_expired"}


def on_referral_requested(event, uow, policy: MatchingPolicy, now: datetime,
                          registry: CachedRegistry | None = None) -> None:
    """Keep the criteria and propose the best mentor at once, or waitlist the referral.

    A second ``referral.requested`` for a known referral (under another event id), or one that
    arrives after its referral ended, changes nothing. Raises ``ValueError`` for criteria the
    domain refuses (retried, then parked), unless the referral is known: then there is nothing
    to store, as for any request heard again.
    """
    try:
        referral = Referral.requested(event.payload, now)
    except ValueError:
        if uow.referrals.get(event.payload["referral_id"]) is not None:
            return
        raise
    if uow.referrals.add_new(referral):
        Matchmaker(uow, policy, now, registry).propose_next(referral, new=True)


def on_referral_status_changed(event, uow, policy: MatchingPolicy, now: datetime,
                               registry: CachedRegistry | None = None) -> None:
    """A referral that ended (cancelled, rejected, completed, failed) is matched no more: its
    proposal is withdrawn or its mentor's place freed, and the waitlist gets the place.

    A cancelled referral (by its referrer, or because its consent ended) leaves no match
    standing: an accepted match is withdrawn too. A completed or failed one keeps its
    accepted match as the record of who worked with the participant.
    """
    payload = event.payload
    if payload["to_status"] not in FINAL_REFERRAL_STATUSES:
        return
    reason = f"referral_{payload['to_status']}"
    referral = uow.referrals.lock_one(payload["referral_id"])
    if referral is None:
        if uow.referrals.get(payload["referral_id"]) is None:  # the request has not arrived yet
            uow.referrals.add(Referral.tombstone(payload, reason, now))
        return
    matchmaker = Matchmaker(uow, policy, now, registry)
    matchmaker.close(referral, reason, withdraw_accepted=payload["to_status"] == CANCELLED)
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
    referrals = uow.referrals.lock(uow.referrals.relying_on(payload["consent_id"]))
    # Places may be freed at several mentors: lock their rows first, in order (see adapters).
    live = uow.matches.live(r.id for r in referrals).values()
    uow.mentors.lock_rows([m.mentor_id for m in live if m.status == ACCEPTED])
    for referral in referrals:
        if partial:
            _narrow(matchmaker, referral, payload, code)
        else:
            matchmaker.close(referral, code, withdraw_accepted=True)
    matchmaker.fill_waitlist()


def _narrow(matchmaker: Matchmaker, referral: Referral, payload: dict[str, Any], code: str) -> None:
    uow = matchmaker.uow
    scope = referral.scope().narrowed(payload["revoked"], payload["remaining"])
    referral = referral.narrowed(scope)
    uow.referrals.save(referral)
    live = uow.matches.live([referral.id]).get(referral.id)
    kind = live and uow.mentors.get(live.mentor_id).mentor.agency_kind
    covered = live is None or scope.covers(live.mentor_agency_id, kind)
    if scope.empty or (live is not None and live.status == ACCEPTED and not covered):
        # The referrals service cancels such a referral too; its place is freed here at once.
        matchmaker.close(referral, code, withdraw_accepted=True)
    elif not covered and matchmaker.withdraw(live, code):
        matchmaker.propose_next(referral)
