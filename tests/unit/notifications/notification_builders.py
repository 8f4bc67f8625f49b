"""Valid events and settings for the notifications tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.kit.contract import Event, new_event
from services.notifications.domain.settings import AgencySettings, QuietHours

NOW = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


def match_payload(**changes: Any) -> dict[str, Any]:
    return {
        "match_id": "mt-1", "referral_id": "rf-1", "referrer_agency_id": "ag-hospital",
        "mentor_id": "mn-1", "mentor_agency_id": "ag-peers", "urgency": "routine",
        "score": 0.8734, "expires_at": "2026-11-05T15:00:00+00:00",
        "explanation": [{"factor": "pathway", "weight": 0.3, "score": 1.0, "contribution": 0.3}],
        **changes,
    }


def status_payload(**changes: Any) -> dict[str, Any]:
    return {
        "referral_id": "rf-1", "referrer_agency_id": "ag-hospital",
        "assigned_agency_id": "ag-peers", "participant_id": "pt-1", "urgency": "routine",
        "from_status": "accepted", "to_status": "in-progress", "reason_code": None,
        **changes,
    }


def waitlisted_payload(**changes: Any) -> dict[str, Any]:
    return {"referral_id": "rf-1", "referrer_agency_id": "ag-hospital", "urgency": "routine",
            "reason_code": "no_fitting_mentor", **changes}


def revoked_payload(**changes: Any) -> dict[str, Any]:
    return {"consent_id": "cn-1", "participant_id": "pt-1",
            "revoked": {"agencies": [], "classes": ["peer_group"]},
            "remaining": {"agencies": [], "classes": []}, "full": True, **changes}


def event(type_: str, payload: dict[str, Any], occurred_at: datetime = NOW) -> Event:
    """A contract-valid event: the shared contract validates the payload."""
    return new_event(type_, payload, source="test", occurred_at=occurred_at)


def agency(agency_id: str = "ag-peers", **changes: Any) -> AgencySettings:
    fields: dict[str, Any] = {
        "agency_id": agency_id, "agency_kind": "peer_group", "roles": ("coordinator",),
        "webhook_url": "https://peers.example/hooks", "webhook_secret": "whsec_x",
        "email": "intake@peers.example", "phone": "+15555550100", "language": "en",
        "quiet_hours": QuietHours.parse("21:00", "07:00", "America/New_York"),
    }
    return AgencySettings(**{**fields, **changes})
