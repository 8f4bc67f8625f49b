"""Builders for referrals in any status, as the lifecycle would have left them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.referrals.domain import MatchInfo, Referral

REFERRER = "agency-st-mary"
PEER_GROUP = "agency-harbor-peers"
STRANGER = "agency-elsewhere"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

NEEDS = {
    "languages": ["es", "en"], "mentor_gender": "female", "mentor_gender_required": False,
    "pathways": ["12-step"], "lived_experience": ["opioids"], "age": 36,
    "location": {"lat": 40.71283, "lon": -74.00601}, "remote_ok": True,
    "availability": ["mon-evening", "sat-morning"],
}
ALLOWED = {"agencies": [PEER_GROUP], "classes": ["peer_group"]}

# The steps that lead to each status, starting from a fresh request.
PATHS = {
    "requested": [],
    "accepted": ["accepted"],
    "rejected": ["rejected"],
    "in-progress": ["accepted", "in-progress"],
    "on-hold": ["accepted", "on-hold"],
    "completed": ["accepted", "in-progress", "completed"],
    "failed": ["accepted", "in-progress", "failed"],
    "cancelled": ["cancelled"],
}


def match(match_id: str = "match-1", agency: str = PEER_GROUP) -> MatchInfo:
    return MatchInfo(match_id=match_id, mentor_id="mentor-1", mentor_agency_id=agency,
                     score=0.82, explanation=({"factor": "language", "weight": 0.3,
                                               "score": 1.0, "contribution": 0.3},))


def new_referral(**overrides) -> Referral:
    args = dict(referrer_agency_id=REFERRER, participant_id="participant-1",
                consent_id="consent-1", reason="peer support after detox discharge",
                urgency="routine", needs=NEEDS, allowed=ALLOWED, at=T0)
    return Referral.request(**{**args, **overrides})


def move(referral: Referral, target: str, at: datetime, reason: str | None = "stated why") -> None:
    """Make the move to ``target`` as the actor entitled to it."""
    if target == "accepted":
        referral.accept_match(match(), permitted=True, at=at)
    elif target == "rejected":
        referral.reject(reason_code="no_peer_group_available", at=at)
    elif target == "cancelled":
        referral.cancel(by=REFERRER, reason=reason, at=at)
    else:
        by = referral.assigned_agency_id or REFERRER
        referral.report_status(by=by, status=target, reason=reason, at=at)


def referral_in(status: str) -> Referral:
    referral = new_referral()
    for step, target in enumerate(PATHS[status], start=1):
        move(referral, target, T0 + timedelta(hours=step))
    referral.events.clear()
    return referral
