"""Matching's view of a referral: its opaque ids, the consent's scope and the matching criteria.

Nothing here names a participant. ``criteria`` is dropped when the referral closes; the closed
referral stays as a tombstone so that a late duplicate ``referral.requested`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.matching.domain.coverage import ConsentScope
from services.matching.domain.model import ReferralCriteria

MEDICATION_ASSISTED = "medication-assisted"

NO_FITTING_MENTOR = "no_fitting_mentor"


@dataclass(frozen=True)
class Referral:
    id: str
    referrer_agency_id: str
    participant_id: str
    consent_id: str
    urgency: str
    allowed: dict[str, list[str]]
    requested_at: datetime
    blocked_agencies: tuple[str, ...] = ()
    criteria: dict[str, Any] | None = field(default=None, hash=False)
    closed_at: datetime | None = None
    closed_reason: str | None = None

    @classmethod
    def requested(cls, payload: Mapping[str, Any], now: datetime) -> Referral:
        """From a ``referral.requested`` payload; raises ``ValueError`` for criteria the domain
        refuses (such a referral could never be matched, so it is not stored)."""
        ReferralCriteria.from_requested(payload)
        scope = ConsentScope.of(payload["allowed"], payload["allowed"].get("excluded", ()))
        return cls(payload["referral_id"], payload["referrer_agency_id"], payload["participant_id"],
                   payload["consent_id"], payload["urgency"], scope.to_allowed(), now,
                   tuple(sorted(scope.blocked)), payload["criteria"])

    @classmethod
    def tombstone(cls, payload: Mapping[str, Any], reason: str, now: datetime) -> Referral:
        """A referral that ended before its request reached matching: a request arriving late
        (events of different queues may overtake each other) is then ignored."""
        return cls(payload["referral_id"], payload["referrer_agency_id"], payload["participant_id"],
                   "", payload["urgency"], {"agencies": [], "classes": []}, now,
                   closed_at=now, closed_reason=reason)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def scope(self) -> ConsentScope:
        return ConsentScope.of(self.allowed, self.blocked_agencies)

    def matching_criteria(self) -> ReferralCriteria:
        """The referral's criteria under what its consent still covers."""
        return ReferralCriteria.from_requested({
            "referral_id": self.id, "referrer_agency_id": self.referrer_agency_id,
            "urgency": self.urgency, "allowed": self.scope().to_allowed(), "criteria": self.criteria,
        })

    def needs_seen(self) -> dict[str, Any] | None:
        """The needs matching weighs, as codes: urgency, languages, pathways, age band, and the
        lived experience only when the consent shared substance use (else ``None``, with the
        medication-assisted pathway left out too). None once the referral closed."""
        if not self.is_open or self.criteria is None:
            return None
        criteria = self.matching_criteria()
        shared = criteria.substance_use_shared
        return {
            "urgency": criteria.urgency,
            "languages": sorted(criteria.languages),
            "pathways": sorted(p for p in criteria.pathways if shared or p != MEDICATION_ASSISTED),
            "age_band": criteria.age_band,
            "lived_experience": sorted(criteria.lived_experience) if shared else None,
            "substance_use_shared": shared,
        }

    def narrowed(self, scope: ConsentScope) -> Referral:
        return replace(self, allowed=scope.to_allowed(), blocked_agencies=tuple(sorted(scope.blocked)))

    def closed(self, reason: str, at: datetime) -> Referral:
        """Closed, its criteria forgotten: nothing is matched for it any more."""
        return replace(self, closed_at=at, closed_reason=reason, criteria=None)
