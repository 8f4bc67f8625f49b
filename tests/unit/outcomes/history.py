"""A seeded event history of the network, as the outcomes service receives it, with its tables
worked out by hand (k = 3) in test_outcomes_tables.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.kit.contract import Event

H, G = "h-1", "g-1"  # the referring hospital and the peer group
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
K = 3
VERSION_2_MATCHES = ("match.proposed", "match.accepted", "match.declined", "match.expired", "match.withdrawn")


def participant(n: int) -> str:
    return str(uuid.UUID(int=n))


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def event(type_: str, when: datetime, source: str, **payload) -> Event:
    """An event at the version its publisher's catalog is at now."""
    version = 2 if type_ == "referral.requested" or type_ in VERSION_2_MATCHES else 1
    return Event(id=str(uuid.uuid4()), type=type_, version=version, occurred_at=when, source=source,
                 correlation_id=str(uuid.uuid4()), causation_id=None, payload=payload)


def requested(referral: str, who: int, when: datetime, urgency: str, language: str, referrer: str = H):
    return event("referral.requested", when, "referrals", referral_id=referral, referrer_agency_id=referrer,
                 participant_id=participant(who), consent_id=str(uuid.UUID(int=1000 + who)), urgency=urgency,
                 allowed={"agencies": [], "classes": ["peer_group"], "excluded": []},
                 criteria={"languages": [language], "pathways": [], "lived_experience": [],
                           "remote_ok": True, "availability": [], "mentor_gender_required": False,
                           "substance_use_shared": True})


def status(referral: str, who: int, when: datetime, to: str, urgency: str, reason: str | None = None,
           assigned: str | None = G, frm: str = "requested", referrer: str = H):
    return event("referral.status_changed", when, "referrals", referral_id=referral,
                 referrer_agency_id=referrer,
                 assigned_agency_id=assigned, participant_id=participant(who), urgency=urgency,
                 from_status=frm, to_status=to, reason_code=reason)


def match(type_: str, referral: str, when: datetime, mentor: str, urgency: str, group: str = G):
    return event(type_, when, "matching", match_id=str(uuid.uuid4()), referral_id=referral,
                 referrer_agency_id=H, mentor_id=mentor, mentor_agency_id=group, urgency=urgency, score=0.8,
                 explanation=[], expires_at=None, reason_code=None)


def waitlisted(referral: str, when: datetime, urgency: str):
    return event("match.waitlisted", when, "matching", referral_id=referral, referrer_agency_id=H,
                 urgency=urgency, reason_code="capacity")


def contact(referral: str, when: datetime, outcome: str = "reached"):
    return event("engagement.contact_logged", when, "engagement", referral_id=referral, agency_id=G,
                 contact_id=str(uuid.uuid4()), mode="call", outcome=outcome, first_contact=True)


def checkin(referral: str, when: datetime):
    return event("engagement.checkin_answered", when, "engagement", referral_id=referral, agency_id=G,
                 answer_id=str(uuid.uuid4()), kind="score", score=4)


def assessment(referral: str, when: datetime, due: str, total: int):
    return event("engagement.assessment_completed", when, "engagement", referral_id=referral, agency_id=G,
                 assessment_id=str(uuid.uuid4()), due=due, total=total, belonging=4)


def consent_ended(who: int, when: datetime, expired: bool = False):
    consent = str(uuid.UUID(int=1000 + who))
    if expired:
        return event("consent.expired", when, "consent", consent_id=consent, participant_id=participant(who))
    return event("consent.revoked", when, "consent", consent_id=consent, participant_id=participant(who),
                 revoked={"agencies": [], "classes": ["peer_group"]},
                 remaining={"agencies": [], "classes": []},
                 full=True)


def refused(who: int, when: datetime, reason: str, urgency: str, language: str | None, referrer: str = H):
    """A referral consent refused as it was made: no referral id."""
    return event("referral.refused", when, "referrals", referrer_agency_id=referrer,
                 participant_id=participant(who), consent_id=str(uuid.UUID(int=1000 + who)),
                 reason_code=reason, urgency=urgency, language=language)


def seeded_history() -> list[Event]:
    """Four routine referrals in English in January (all handed off to the peer group), two urgent
    ones the same month (cancelled unmatched: too few to publish), three routine ones in Spanish in
    February (waitlisted, proposed in March), consents ending in May, and referrals consent
    refused: three for an expired consent and two for a revoked one in March (routine, English),
    and in April three urgent ones in Spanish for an uncovered data class, two of them the same
    person's (so two participants: too few to publish)."""
    events: list[Event] = []
    handoff_scores = {1: (30, 40), 2: (32, 41), 3: (34, 42), 4: (36, 40)}
    for i in (1, 2, 3, 4):
        r, req = f"r{i}", at(1, 1 + i)
        handoff = req + timedelta(days=i + 1)
        events += [
            requested(r, i, req, "routine", "en"),
            match("match.proposed", r, req + timedelta(days=i), "m-1" if i <= 2 else "m-2", "routine"),
            match("match.accepted", r, handoff, "m-1" if i <= 2 else "m-2", "routine"),
            status(r, i, handoff, "accepted", "routine"),
            contact(r, req + timedelta(days=i + 2)),
            assessment(r, handoff + timedelta(days=1), "handoff", handoff_scores[i][0]),
            assessment(r, handoff + timedelta(days=90), "day90", handoff_scores[i][1]),
        ]
        if i <= 3:  # engaged 31-60 days after the handoff; nobody 61-90
            events.append(checkin(r, handoff + timedelta(days=45)))
            events.append(status(r, i, at(4, 15), "completed", "routine", frm="in-progress"))
        else:
            events.append(contact(r, handoff + timedelta(days=40), outcome="no_answer"))
            events.append(status(r, i, at(4, 20), "cancelled", "routine", reason="participant-declined",
                                 frm="in-progress"))
    for i in (5, 6):
        r = f"r{i}"
        events += [requested(r, i, at(1, 10), "urgent", "en"),
                   status(r, i, at(1, 20), "cancelled", "urgent", reason="no-longer-needed", assigned=None)]
    for i, proposed_on in ((7, at(3, 3, 11)), (8, at(3, 4, 11)), (9, at(3, 10, 11))):
        r, req = f"r{i}", at(2, i - 4)
        events += [requested(r, i, req, "routine", "es"),
                   waitlisted(r, req + timedelta(hours=1), "routine"),
                   match("match.proposed", r, proposed_on, "m-2", "routine")]
    events += [consent_ended(i, at(5, 2 + i)) for i in (1, 2, 3)]
    events.append(consent_ended(4, at(5, 9), expired=True))
    events += [refused(who, at(3, who), "expired", "routine", "en") for who in (11, 12, 13)]
    events += [refused(who, at(3, who), "revoked", "routine", "en") for who in (14, 15)]
    events += [refused(who, at(4, day), "data_class_not_covered", "urgent", "es")
               for who, day in ((16, 2), (16, 3), (17, 4))]
    return events
