"""The mentor a referral was matched with, as referrals learns it from matching's events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MatchInfo:
    """The mentor a referral was matched with, and why (from matching's ``match.*`` events)."""

    match_id: str
    mentor_id: str
    mentor_agency_id: str
    score: float
    explanation: tuple[Mapping[str, Any], ...] = ()
    status: str = "proposed"
    reason_code: str | None = None  # why it was declined, expired or withdrawn: a code, never words

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], status: str = "proposed") -> MatchInfo:
        """Build from a ``MatchV2`` payload; raises ``KeyError`` when an id is missing."""
        return cls(payload["match_id"], payload["mentor_id"], payload["mentor_agency_id"],
                   float(payload["score"]), tuple(payload.get("explanation") or ()), status,
                   payload.get("reason_code"))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.match_id, "status": self.status, "mentor_id": self.mentor_id,
                "mentor_agency_id": self.mentor_agency_id, "score": self.score,
                "explanation": [dict(item) for item in self.explanation],
                "reason_code": self.reason_code}
