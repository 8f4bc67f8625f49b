"""What an agency sees of a referral: the shape of ``GET /v1/referrals/{id}`` (docs/api.md)."""

from __future__ import annotations

from typing import Any

from services.referrals.domain.model import Referral
from services.referrals.domain.unreadable import UnreadableReferral


def referral_view(referral: Referral | UnreadableReferral, agency_id: str) -> dict[str, Any]:
    """The referral as ``agency_id`` may see it.

    The clinician's reason and the exact needs are shown to the referrer only; the assigned peer
    group receives participant details through the handoff, which is a recorded disclosure.
    No agency oversees another's referrals: an agency's administrator sees what its agency sees.
    A history entry shows its reason code to everyone and its words only to the agency that
    wrote them.
    An ``UnreadableReferral`` shows its plain columns only, marked ``"integrity": "unreadable"``.
    Raises ``NotFound`` for an agency that may not see the referral.
    """
    referral.ensure_visible_to(agency_id)
    if isinstance(referral, UnreadableReferral):
        return unreadable_view(referral)
    view: dict[str, Any] = {
        "id": referral.id,
        "status": referral.status,
        "urgency": referral.urgency,
        "referrer_agency_id": referral.referrer_agency_id,
        "assigned_agency_id": referral.assigned_agency_id,
        "participant_id": referral.participant_id,
        "consent_id": referral.consent_id,
        "created_at": referral.history[0].at.isoformat() if referral.history else None,
        "updated_at": referral.history[-1].at.isoformat() if referral.history else None,
        "history": [entry.as_dict(agency_id) for entry in referral.history],
        "match": referral.match.as_dict() if referral.match else None,
        "waitlisted": referral.waitlisted,
        "handoff_available": referral.handoff_open,
    }
    if agency_id == referral.referrer_agency_id:
        view["reason"] = referral.reason
        view["needs"] = referral.needs
        view["external_id"] = referral.external_id
        view["external_id_system"] = referral.external_id_system
    return view


def unreadable_view(referral: UnreadableReferral) -> dict[str, Any]:
    """A referral whose sealed fields failed their integrity check: no reason, needs or history."""
    return {
        "id": referral.id,
        "status": referral.status,
        "integrity": "unreadable",
        "urgency": referral.urgency,
        "referrer_agency_id": referral.referrer_agency_id,
        "assigned_agency_id": referral.assigned_agency_id,
        "participant_id": referral.participant_id,
        "consent_id": referral.consent_id,
        "created_at": referral.created_at.isoformat(),
        "updated_at": referral.updated_at.isoformat(),
        "history": [],
        "match": referral.match.as_dict() if referral.match else None,
        "waitlisted": referral.waitlisted,
        "handoff_available": referral.handoff_open,
    }
