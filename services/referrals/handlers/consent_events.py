"""How the referrals service reacts to consent's ``consent.revoked`` and ``consent.expired``."""

from __future__ import annotations

from datetime import datetime

from services.referrals.domain.rules import CONSENT_EXPIRED, CONSENT_REVOKED
from services.referrals.handlers.changes import save


def on_consent_ended(event, uow, now: datetime) -> None:
    """Cancel what no longer rests on a consent. Runs inside ``uow.handle`` (the kit's inbox).

    Expiry and full revocation end every referral not yet final that relied on the consent; a
    partial revocation ends those the remaining recipients no longer cover, and those whose
    assigned agency was taken off by name. Their handoffs close. The ending is kept, under the
    consent's lock, for a referral whose creation commits after this (``end_by``). Raises
    ``Conflict`` (and so is retried) when one of them changed concurrently.
    """
    payload = event.payload
    uow.referrals.hold_consent(payload["consent_id"])
    uow.referrals.remember_ending(event.id, event.type, payload, event.occurred_at)
    for referral in uow.referrals.relying_on(payload["consent_id"]):
        if end_by(referral, event.type, payload, now):
            save(uow, referral)


def end_by(referral, event_type: str, payload: dict, now: datetime) -> bool:
    """End ``referral`` if the consent ending (``consent.revoked`` / ``consent.expired`` and its
    payload) takes it away; whether it did."""
    code = CONSENT_EXPIRED if event_type == "consent.expired" else CONSENT_REVOKED
    if code == CONSENT_REVOKED and not payload["full"]:
        named_off = referral.assigned_agency_id in payload["revoked"]["agencies"]
        if not named_off and referral.still_covered_by(payload["remaining"]):
            return False
    return referral.end_by_consent(reason_code=code, at=now)
