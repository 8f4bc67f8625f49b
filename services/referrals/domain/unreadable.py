"""A stored referral whose sealed fields failed their integrity check.

Listings show such a referral by its plain columns (id, status, agencies, dates) with
``"integrity": "unreadable"``, so one damaged row never hides the rest of a page. It
carries no reason, needs or history: those are sealed, and their seal is what failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.kit.errors import NotFound
from services.referrals.domain.match import MatchInfo


@dataclass(frozen=True)
class UnreadableReferral:
    id: str
    status: str
    urgency: str
    referrer_agency_id: str
    assigned_agency_id: str | None
    participant_id: str
    consent_id: str
    created_at: datetime
    updated_at: datetime
    match: MatchInfo | None
    waitlisted: bool
    handoff_open: bool

    def visible_to(self, agency_id: str) -> bool:
        """The same rule as ``Referral.visible_to``: the referrer and the assigned peer group."""
        return bool(agency_id) and agency_id in (self.referrer_agency_id, self.assigned_agency_id)

    def ensure_visible_to(self, agency_id: str) -> None:
        """Raises ``NotFound`` unless ``agency_id`` may see this referral."""
        if not self.visible_to(agency_id):
            raise NotFound("No such referral.")
