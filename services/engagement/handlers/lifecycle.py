"""How an engagement begins and ends: referrals' and consent's events.

It begins when a referral is ``accepted`` by a peer group: the participant's contact details are
read through referrals' handoff (consent decides afresh and ledgers the disclosure to that peer
group) before the inbox transaction opens. It ends, purging the contact details, notes and free
words and stopping every automated message, when the consent is revoked for that peer group or
expires, or the referral reaches a final status.

An ending runs in one unit of work with the event's inbox row; when a timer saved one of the
engagements meanwhile, that unit of work runs again at once on fresh copies (and then, if it must,
the event is delivered again). The ended row's raised version means no copy read before the end
can be saved over it: its contact details stay purged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.engagement.adapters.referrals import ReferralsClient
from services.engagement.domain.model import Engagement
from services.engagement.handlers import assessments
from services.engagement.handlers.changes import retried, save
from services.kit.vocabulary import FINAL_REFERRAL_STATUSES


def on_referral_status_changed(event, uow, referrals: ReferralsClient, now: datetime) -> None:
    payload = event.payload
    if payload["to_status"] == "accepted" and payload.get("assigned_agency_id"):
        with uow:
            known = uow.engagements.get(payload["assigned_agency_id"], payload["referral_id"])
        details = None
        if known is None:
            details = referrals.contact_details(payload["assigned_agency_id"], payload["referral_id"])
        uow.handle(event, begin, details, now)
    elif payload["to_status"] in FINAL_REFERRAL_STATUSES:
        retried(lambda: uow.handle(event, end_for_referral, now))


def begin(event, uow, details: dict[str, Any] | None, now: datetime) -> None:
    """Start the engagement with the disclosed details; nothing when consent refused them."""
    payload = event.payload
    if details is None or uow.engagements.get(payload["assigned_agency_id"], payload["referral_id"]):
        return
    engagement = Engagement(
        agency_id=payload["assigned_agency_id"], referral_id=payload["referral_id"],
        participant_id=payload["participant_id"], consent_id=details.get("consent_id") or "",
        started_at=event.occurred_at or now, phone=details.get("phone"), email=details.get("email"),
        language=details.get("language") or "en")
    uow.engagements.add(engagement)
    assessments.schedule(uow, engagement)


def end_for_referral(event, uow, now: datetime) -> None:
    for engagement in uow.engagements.of_referral(event.payload["referral_id"]):
        _end(uow, engagement, "referral_closed", now)


def consent_ended(event, uow, now: datetime) -> None:
    """``consent.revoked`` or ``consent.expired``: ``on_consent_ended`` in the event's unit of work,
    run again on fresh copies when an engagement changed meanwhile."""
    retried(lambda: uow.handle(event, on_consent_ended, now))


def on_consent_ended(event, uow, now: datetime) -> None:
    """Expiry and full revocation end every engagement under the consent; a partial revocation
    those whose peer group was named off or is no longer covered by what remains."""
    payload = event.payload
    expired = event.type == "consent.expired"
    for engagement in uow.engagements.of_consent(payload["consent_id"]):
        if not expired and not payload["full"]:
            named_off = engagement.agency_id in payload["revoked"]["agencies"]
            remaining = payload["remaining"]
            covered = ("peer_group" in (remaining.get("classes") or [])
                       or engagement.agency_id in (remaining.get("agencies") or []))
            if covered and not named_off:
                continue
        _end(uow, engagement, "consent_expired" if expired else "consent_revoked", now)


def _end(uow, engagement: Engagement, reason: str, now: datetime) -> None:
    if engagement.end(reason, now):
        uow.engagements.purge_personal(engagement.agency_id, engagement.referral_id)
        uow.engagements.drop_assessment_links(engagement.agency_id, engagement.referral_id)
        uow.engagements.drop_checkin_links(engagement.agency_id, engagement.referral_id)
        save(uow, engagement)
