"""A proposal: the mentor chosen for a referral, with the explanation a coordinator reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.matching.domain.model import Mentor, ReferralCriteria
from services.matching.domain.scoring import DEFAULT_WEIGHTS, ExplanationItem, Weights, explain
from services.matching.domain.scoring import total as explained_total
from services.matching.domain.table import MentorTable


@dataclass(frozen=True)
class Proposal:
    referral_id: str
    referrer_agency_id: str
    urgency: str
    mentor_id: str
    mentor_agency_id: str
    score: float
    explanation: tuple[ExplanationItem, ...]

    def to_payload_fields(self) -> dict[str, Any]:
        """The ``MatchV2`` fields a proposal decides (the caller adds ``match_id`` and expiry)."""
        return {
            "referral_id": self.referral_id,
            "referrer_agency_id": self.referrer_agency_id,
            "urgency": self.urgency,
            "mentor_id": self.mentor_id,
            "mentor_agency_id": self.mentor_agency_id,
            "score": self.score,
            "explanation": [item.to_dict() for item in self.explanation],
        }


def proposal_for(mentor: Mentor, criteria: ReferralCriteria,
                 weights: Weights = DEFAULT_WEIGHTS) -> Proposal:
    """Explain a chosen pair; the score is the sum of the explanation's contributions.

    Hard rules are not checked here: the mentor comes from ``MentorTable.pick`` or the solver.
    """
    explanation = explain(mentor, criteria, weights)
    return Proposal(criteria.referral_id, criteria.referrer_agency_id, criteria.urgency,
                    mentor.id, mentor.agency_id, explained_total(explanation), explanation)


def propose(table: MentorTable, criteria: ReferralCriteria, *, today: date,
            exclude: Iterable[str] = ()) -> Proposal | None:
    """The best allowed mentor for a referral now, explained; None means waitlist it.

    ``exclude`` holds mentors who declined this referral or let a proposal expire, so a decline
    leads to the next-best mentor. The table is not changed: record the hold as a caseload change.
    """
    pick = table.pick(criteria, today=today, exclude=exclude)
    if pick is None:
        return None
    return proposal_for(table.mentor_at(pick.row), criteria, table.weights)
