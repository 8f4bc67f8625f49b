"""The read model's rows, each a pure function of the event log.

A referral's row is recomputed from *all* of its log rows, sorted by ``(occurred_at, event_id)``,
whenever one arrives: the row never depends on the order events were delivered in, so a replay
of the log (``referral-network report --rebuild``) reproduces the tables exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from services.outcomes.domain.facts import Fact

FINAL = ("rejected", "completed", "failed", "cancelled")
WINDOW_DAYS = 30
WINDOWS = (1, 2, 3)  # engagement windows: days 1-30, 31-60, 61-90 after the handoff


def _key(fact: Fact) -> tuple[datetime, str]:
    return fact.occurred_at, fact.event_id


def referral_row(referral_id: str, facts: Iterable[Fact]) -> dict[str, Any]:
    """The outcome row of one referral from its log rows (any order)."""
    row: dict[str, Any] = {
        "referral_id": referral_id, "participant_ref": None, "referrer_agency_id": None,
        "urgency": None, "language": None, "peer_group_id": None, "mentor_id": None,
        "requested_at": None, "proposed_at": None, "accepted_at": None, "first_contact_at": None,
        "waitlisted_at": None, "wait_ended_at": None, "closed_at": None, "closed_status": None,
        "close_reason": None, "barc_handoff": None, "barc_day90": None, "engaged_windows": [],
    }
    proposals: list[datetime] = []
    activity: list[datetime] = []
    matched_group = None
    for fact in sorted(facts, key=_key):
        f, at = fact.facts, fact.occurred_at
        if fact.participant_ref and row["participant_ref"] is None:
            row["participant_ref"] = fact.participant_ref
        if f.get("urgency") and (row["urgency"] is None or fact.type == "referral.requested"):
            row["urgency"] = f["urgency"]
        if f.get("referrer_agency_id") and row["referrer_agency_id"] is None:
            row["referrer_agency_id"] = f["referrer_agency_id"]
        if fact.type == "referral.requested":
            row["requested_at"] = row["requested_at"] or at
            row["language"] = f.get("language")
            row["referrer_agency_id"] = f.get("referrer_agency_id") or row["referrer_agency_id"]
        elif fact.type == "match.proposed":
            proposals.append(at)
            matched_group = matched_group or f.get("mentor_agency_id")
        elif fact.type == "match.accepted":
            row["mentor_id"] = f.get("mentor_id")
            matched_group = f.get("mentor_agency_id") or matched_group
        elif fact.type == "match.waitlisted":
            row["waitlisted_at"] = row["waitlisted_at"] or at
        elif fact.type == "referral.status_changed":
            to_status = f.get("to_status")
            if to_status == "accepted" and row["accepted_at"] is None:
                row["accepted_at"] = at
                row["peer_group_id"] = f.get("assigned_agency_id")
            elif to_status in FINAL and row["closed_at"] is None:
                row["closed_at"], row["closed_status"] = at, to_status
                row["close_reason"] = f.get("reason_code") or "none"
        elif fact.type == "engagement.contact_logged":
            if f.get("outcome") == "reached":
                activity.append(at)
                row["first_contact_at"] = row["first_contact_at"] or at
        elif fact.type == "engagement.checkin_answered":
            activity.append(at)
        elif fact.type == "engagement.assessment_completed":
            column = {"handoff": "barc_handoff", "day90": "barc_day90"}.get(f.get("due"))
            if column and row[column] is None:
                row[column] = f.get("total")
    row["proposed_at"] = proposals[0] if proposals else None
    if row["waitlisted_at"] is not None:
        row["wait_ended_at"] = next((at for at in proposals if at > row["waitlisted_at"]), None)
    row["peer_group_id"] = row["peer_group_id"] or matched_group
    if row["accepted_at"] is not None:
        row["engaged_windows"] = engaged_windows(row["accepted_at"], activity)
    return row


def engaged_windows(handoff: datetime, activity: Iterable[datetime]) -> list[int]:
    """The 30-day windows after the handoff (1, 2, 3) holding a reached contact or an answer."""
    hit = set()
    for at in activity:
        for window in WINDOWS:
            start = handoff + timedelta(days=WINDOW_DAYS * (window - 1))
            if start < at <= handoff + timedelta(days=WINDOW_DAYS * window):
                hit.add(window)
    return sorted(hit)


def consent_ending_row(fact: Fact) -> dict[str, Any]:
    """A consent that ended: revoked in full, revoked in part, or expired."""
    if fact.type == "consent.expired":
        reason = "expired"
    else:
        reason = "revoked" if fact.facts.get("full") else "revoked-in-part"
    return {"event_id": fact.event_id, "participant_ref": fact.participant_ref,
            "ended_at": fact.occurred_at, "reason": reason}


def consent_refusal_row(fact: Fact) -> dict[str, Any]:
    """A referral consent refused as it was made, by the refusal code consent gave the referrer.

    No referral exists, so no later event touches the row: it is the refusal's own, with the
    groups the request named.
    """
    f = fact.facts
    return {"event_id": fact.event_id, "participant_ref": fact.participant_ref,
            "refused_at": fact.occurred_at, "reason": f.get("reason_code") or "consent_not_found",
            "referrer_agency_id": f.get("referrer_agency_id"), "urgency": f.get("urgency"),
            "language": f.get("language")}
