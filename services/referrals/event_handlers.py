"""How the referrals service reacts to matching's and consent's events. No nameko here.

Each reaction that changes state runs inside ``uow.handle`` (the kit's inbox), so it commits
once per event and a redelivery is skipped. Raising makes the kit retry with backoff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.kit.crypto import KeyRing
from services.kit.errors import Conflict, ConsentRequired
from services.referrals.adapters.repository import ReferralRepository
from services.referrals.domain import MatchInfo, Referral
from services.referrals.domain.rules import CONSENT_EXPIRED, CONSENT_REVOKED
from services.referrals.handlers import ConsentClient, handoff_request, save


def on_match(event, uow, consent: ConsentClient, ring: KeyRing, now: datetime) -> None:
    """Follow matching's ``match.*`` events; an acceptance discloses to the mentor's agency.

    The disclosure is asked for before the inbox's transaction opens. Raises (and so is retried
    by the kit) when consent does not answer or the referral changed concurrently.
    """
    if event.type != "match.accepted":
        uow.handle(event, follow_match, ring)
        return
    disclosure = _disclose_for_acceptance(event, uow, consent, ring)
    uow.handle(event, accept_match, ring, disclosure, now)


def follow_match(event, uow, ring: KeyRing) -> None:
    """Keep a waiting referral's match view current (proposed, declined, ..., waitlisted)."""
    referrals = ReferralRepository(uow.session, ring)
    referral = _concerned(referrals, event.payload)
    if referral is None:
        return
    status = event.type.split(".", 1)[1]
    match = None if status == "waitlisted" else MatchInfo.from_payload(event.payload, status)
    if referral.follow_match(match, at=event.occurred_at):
        referrals.save(referral)


def accept_match(event, uow, ring: KeyRing, disclosure: dict[str, Any] | None, now: datetime) -> None:
    """Assign the referral and keep the packet for that agency; cancel it if consent said no.

    ``disclosure`` is consent's answer, or None when nothing was asked (already accepted, or
    no longer waiting): then nothing changes, which makes a redelivery harmless.
    """
    referrals = ReferralRepository(uow.session, ring)
    referral = _concerned(referrals, event.payload)
    if referral is None or disclosure is None:
        return
    if not disclosure.get("permit"):
        if referral.end_by_consent(reason_code=CONSENT_REVOKED, at=now):
            save(uow, referrals, referral)
        return
    try:
        referral.accept_match(MatchInfo.from_payload(event.payload), permitted=True, at=now)
    except Conflict:
        return  # cancelled while consent answered: the disclosed copy is not kept
    save(uow, referrals, referral)
    referrals.store_handoff(referral.id, referral.assigned_agency_id, disclosure, now)


def on_consent_ended(event, uow, ring: KeyRing, now: datetime) -> None:
    """``consent.revoked`` / ``consent.expired``: cancel what no longer rests on a consent.

    Expiry and full revocation end every referral not yet final that relied on the consent; a
    partial revocation ends those the remaining recipients no longer cover, and those whose
    assigned agency was taken off by name. Their handoffs close. Runs inside ``uow.handle``.
    """
    payload = event.payload
    code = CONSENT_EXPIRED if event.type == "consent.expired" else CONSENT_REVOKED
    referrals = ReferralRepository(uow.session, ring)
    for referral in referrals.relying_on(payload["consent_id"]):
        if code == CONSENT_REVOKED and not payload["full"]:
            named_off = referral.assigned_agency_id in payload["revoked"]["agencies"]
            if not named_off and referral.still_covered_by(payload["remaining"]):
                continue
        if referral.end_by_consent(reason_code=code, at=now):
            save(uow, referrals, referral)


def _concerned(referrals: ReferralRepository, payload: dict[str, Any]) -> Referral | None:
    """The referral a matching event is about, if it is ours and from the same referrer."""
    referral = referrals.get(payload["referral_id"])
    if referral is None or referral.referrer_agency_id != payload["referrer_agency_id"]:
        return None
    return referral


def _disclose_for_acceptance(event, uow, consent: ConsentClient, ring: KeyRing) -> dict[str, Any] | None:
    """Ask consent to disclose to the accepted mentor's agency, if the referral still waits."""
    with uow:
        referral = _concerned(ReferralRepository(uow.session, ring), event.payload)
    if referral is None or referral.status != "requested":
        return None
    try:
        return consent.disclose(**handoff_request(referral, event.payload["mentor_agency_id"]))
    except ConsentRequired as denied:
        return {"permit": False, "reason": denied.extra.get("reason")}
