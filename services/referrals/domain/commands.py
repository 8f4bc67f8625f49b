"""What callers ask of the referrals service, as small imperative messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestReferral:
    referrer_agency_id: str
    participant_id: str
    consent_id: str
    reason: str
    urgency: str
    needs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReferralCommand:
    """The base of what an agency asks about one referral, naming it first."""

    referral_id: str
    agency_id: str


@dataclass(frozen=True)
class CancelReferral(ReferralCommand):
    reason: str


@dataclass(frozen=True)
class ReportReferralStatus(ReferralCommand):
    """The assigned peer group reports progress: in-progress, on-hold, completed or failed."""

    status: str
    reason: str | None = None


@dataclass(frozen=True)
class OpenHandoff(ReferralCommand):
    """The assigned peer group reads the handoff packet the consent allows."""


@dataclass(frozen=True)
class ReadReferral(ReferralCommand):
    """``oversight``: a network administrator reading any referral's trail."""

    oversight: bool = False


@dataclass(frozen=True)
class ListReferrals:
    """One page of the referrals an agency sent or was assigned (all of them for oversight)."""

    agency_id: str
    oversight: bool = False
    status: str | None = None
    cursor: str | None = None
