"""What a listing of referrals may be narrowed by, beyond the agency's own or assigned ones.

The repository turns these into SQL; ``matches`` says the same in Python, for in-memory stores
and for checking one referral.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ReferralFilters:
    """Every field set narrows the listing; ``external_id`` is the referrer's own identifier
    (with its ``external_id_system`` when given), so it narrows to the caller's own referrals."""

    status: str | None = None
    external_id: str | None = None
    external_id_system: str | None = None
    participant_id: str | None = None
    referrer_agency_id: str | None = None
    assigned_agency_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None

    @classmethod
    def from_query(cls, query: dict[str, Any]) -> ReferralFilters:
        return cls(**{name: query.get(name) for name in cls.__dataclass_fields__})

    def matches(self, referral: Any, viewer: str | None = None) -> bool:
        """Whether ``referral`` passes every filter set (``viewer``: the agency listing)."""
        created, updated = referral.history[0].at, referral.history[-1].at
        checks = (
            self.status is None or referral.status == self.status,
            self.external_id is None or (referral.external_id == self.external_id
                                         and viewer in (None, referral.referrer_agency_id)),
            self.external_id_system is None or referral.external_id_system == self.external_id_system,
            self.participant_id is None or referral.participant_id == self.participant_id,
            self.referrer_agency_id is None or referral.referrer_agency_id == self.referrer_agency_id,
            self.assigned_agency_id is None or referral.assigned_agency_id == self.assigned_agency_id,
            self.created_after is None or created > self.created_after,
            self.created_before is None or created < self.created_before,
            self.updated_after is None or updated > self.updated_after,
            self.updated_before is None or updated < self.updated_before,
        )
        return all(checks)
