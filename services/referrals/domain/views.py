"""What an agency sees of a referral: the shape of ``GET /v1/referrals/{id}``."""

from __future__ import annotations

from typing import Any

from services.referrals.domain.model import Referral


def referral_view(referral: Referral, agency_id: str, *, oversight: bool = False) -> dict[str, Any]:
    """The referral as ``agency_id`` may see it.

    The clinician's reason and the exact needs are shown to the referrer only; the assigned peer
    group receives participant details through the handoff, which is a recorded disclosure.
    ``oversight`` is for network administrators: statuses and history, never reason or needs.
    Raises ``NotFound`` for an agency that may not see the referral.
    """
    if not oversight:
        referral.ensure_visible_to(agency_id)
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
        "history": [entry.as_dict() for entry in referral.history],
        "match": referral.match.as_dict() if referral.match else None,
        "waitlisted": referral.waitlisted,
        "handoff_available": referral.handoff_open,
    }
    if agency_id == referral.referrer_agency_id:
        view["reason"] = referral.reason
        view["needs"] = referral.needs
    return view
