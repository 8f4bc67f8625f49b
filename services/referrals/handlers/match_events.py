"""How the referrals service follows matching's ``match.*`` events. No nameko here.

Each reaction that changes state runs inside ``uow.handle`` (the kit's inbox), so it commits
once per event and a redelivery is skipped. Raising makes the kit retry with backoff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.kit.errors import Conflict, ConsentRequired
from services.referrals.domain import MatchInfo, Referral
from services.referrals.domain.rules import CONSENT_REVOKED
from services.referrals.handlers.changes import save
from services.referrals.handlers.consent_terms import (
    HANDOFF_DATA_CLASSES,
    HANDOFF_OPTIONAL_CLASSES,
    ConsentClient,
    covered_of,
    handoff_request,
)


def on_match(event, uow, consent: ConsentClient, now: datetime) -> None:
    """Follow matching's ``match.*`` events; an acceptance discloses to the mentor's agency.

    The disclosure is asked for before the inbox's transaction opens. Raises (and so is retried
    by the kit) when consent does not answer or the referral changed concurrently.
    """
    if event.type != "match.accepted":
        uow.handle(event, follow_match)
        return
    disclosure = _disclose_for_acceptance(event, uow, consent)
    uow.handle(event, accept_match, disclosure, now)


def follow_match(event, uow) -> None:
    """Keep a waiting referral's match view current (proposed, declined, ..., waitlisted)."""
    referral = _concerned(uow, event.payload)
    if referral is None:
        return
    status = event.type.split(".", 1)[1]
    match = None if status == "waitlisted" else MatchInfo.from_payload(event.payload, status)
    if referral.follow_match(match, at=event.occurred_at):
        uow.referrals.save(referral)


def accept_match(event, uow, disclosure: dict[str, Any] | None, now: datetime) -> None:
    """Assign the referral and keep the packet for that agency; cancel it if consent said no.

    ``disclosure`` is consent's answer, or None when nothing was asked (already accepted, or
    no longer waiting): then nothing changes, which makes a redelivery harmless.
    """
    referral = _concerned(uow, event.payload)
    if referral is None or disclosure is None:
        return
    if not disclosure.get("permit"):
        if referral.end_by_consent(reason_code=CONSENT_REVOKED, at=now):
            save(uow, referral)
        return
    try:
        referral.accept_match(MatchInfo.from_payload(event.payload), permitted=True, at=now)
    except Conflict:
        return  # cancelled while consent answered: the disclosed copy is not kept
    save(uow, referral)
    uow.referrals.store_handoff(referral.id, referral.assigned_agency_id, disclosure, now)


def _concerned(uow, payload: dict[str, Any]) -> Referral | None:
    """The referral a matching event is about, if it is ours and from the same referrer."""
    referral = uow.referrals.get(payload["referral_id"])
    if referral is None or referral.referrer_agency_id != payload["referrer_agency_id"]:
        return None
    return referral


def _disclose_for_acceptance(event, uow, consent: ConsentClient) -> dict[str, Any] | None:
    """Ask consent to disclose to the accepted mentor's agency, if the referral still waits:
    contact and demographics, and the reason and substance use where the consent covers them."""
    with uow:
        referral = _concerned(uow, event.payload)
    if referral is None or referral.status != "requested":
        return None
    question = handoff_request(referral, event.payload["mentor_agency_id"])
    classes, _ = covered_of(consent, question, HANDOFF_DATA_CLASSES, HANDOFF_OPTIONAL_CLASSES)
    try:
        disclosed = consent.disclose(**{**question, "data_classes": classes})
    except ConsentRequired as denied:
        return {"permit": False, "reason": denied.extra.get("reason")}
    return {**disclosed, "data_classes": classes}
