"""What callers ask of the referrals service, as small imperative messages.

Each carries the kit's ``Caller`` first (``CallerCommand``): handlers read the asking agency as
``caller.agency_id``; no agency, administrators included, reads another agency's referrals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.kit.creations import Creation
from services.kit.messages import CallerCommand
from services.referrals.domain.filters import ReferralFilters


@dataclass(frozen=True)
class RequestReferral(CallerCommand):
    """The caller's agency refers the participant its consent names."""

    participant_id: str
    consent_id: str
    reason: str
    urgency: str
    needs: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    external_id_system: str | None = None
    # The request's Idempotency-Key with a digest of the request: one referral per key.
    creation: Creation | None = None


@dataclass(frozen=True)
class ReferralCommand(CallerCommand):
    """The base of what an agency asks about one referral: the caller, then the referral."""

    referral_id: str


@dataclass(frozen=True)
class CancelReferral(ReferralCommand):
    """The referrer withdraws its referral, for a reason code and/or in its own words."""

    reason: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True)
class ReportReferralStatus(ReferralCommand):
    """The assigned peer group reports progress: in-progress, on-hold, completed or failed."""

    status: str
    reason: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True)
class OpenHandoff(ReferralCommand):
    """The assigned peer group reads the handoff packet the consent allows."""


@dataclass(frozen=True)
class ReadReferral(ReferralCommand):
    """Read one referral's trail: its referrer's or its assigned peer group's."""


@dataclass(frozen=True)
class ListReferrals(CallerCommand):
    """One page of the referrals an agency sent or was assigned."""

    status: str | None = None
    cursor: str | None = None
    filters: ReferralFilters | None = None
