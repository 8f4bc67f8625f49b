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
class CancelReferral:
    referral_id: str
    agency_id: str
    reason: str


@dataclass(frozen=True)
class ReportReferralStatus:
    """The assigned peer group reports progress: in-progress, on-hold, completed or failed."""

    referral_id: str
    agency_id: str
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class OpenHandoff:
    referral_id: str
    agency_id: str


@dataclass(frozen=True)
class ReadReferral:
    """``oversight``: a network administrator reading any referral's trail."""

    referral_id: str
    agency_id: str
    oversight: bool = False


@dataclass(frozen=True)
class ListReferrals:
    """One page of the referrals an agency sent or was assigned (all of them for oversight)."""

    agency_id: str
    oversight: bool = False
    status: str | None = None
    cursor: str | None = None
