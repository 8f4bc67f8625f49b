"""The pure domain of matching: no nameko, no database, no I/O.

- ``model``: ``Mentor``, ``ReferralCriteria``, ``Location``.
- ``scoring``: hard rules (``exclusion_reasons``), soft factors, ``Weights``, explanations.
- ``table``: ``MentorTable``, the vectorized registry for the online pick.
- ``proposals``: ``propose`` / ``proposal_for``, a chosen mentor with its explanation.
- ``solver``: batch optimum of the waitlist (OR-tools min-cost flow) and the greedy baseline.
- ``coverage``: ``ConsentScope``, the peer groups a referral may reach, narrowed on revocation.
- ``referral``: ``Referral``, matching's view of a referral (ids, scope, criteria).
- ``match``: ``Match``, the aggregate of a proposal and its decision, with the events it records.
- ``registered``: ``RegisteredMentor``; ``policy``: ``MatchingPolicy``; ``commands``.
"""

from services.matching.domain.coverage import ConsentScope
from services.matching.domain.encoding import VocabularyFull
from services.matching.domain.model import Location, Mentor, ReferralCriteria
from services.matching.domain.proposals import Proposal, proposal_for, propose
from services.matching.domain.scoring import (
    DEFAULT_WEIGHTS,
    FACTORS,
    HARD_RULES,
    ExplanationItem,
    Weights,
    compatibility,
    exclusion_reasons,
    explain,
    factor_scores,
    is_allowed,
    rank,
)
from services.matching.domain.solver import (
    Assignment,
    BatchResult,
    CandidatePairs,
    assign_greedy,
    assign_optimal,
    candidate_pairs,
    solve_batch,
    solve_greedy,
)
from services.matching.domain.table import MentorTable, Pick

__all__ = [
    "DEFAULT_WEIGHTS", "FACTORS", "HARD_RULES", "Assignment", "BatchResult", "CandidatePairs",
    "ConsentScope",
    "ExplanationItem", "Location", "Mentor", "MentorTable", "Pick", "Proposal", "ReferralCriteria",
    "VocabularyFull", "Weights", "assign_greedy", "assign_optimal", "candidate_pairs",
    "compatibility", "exclusion_reasons", "explain", "factor_scores", "is_allowed", "proposal_for",
    "propose", "rank", "solve_batch", "solve_greedy",
]
