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

import importlib
from typing import Any

# Each name the package offers, by the module that defines it. They are imported on first use
# (PEP 562), so a service that needs one small module (the catalog's ``ladder``, say) does not
# load numpy and OR-tools with ``table`` and ``solver``.
_HOMES = {
    "ConsentScope": "coverage", "VocabularyFull": "encoding",
    "Location": "model", "Mentor": "model", "ReferralCriteria": "model",
    "Proposal": "proposals", "proposal_for": "proposals", "propose": "proposals",
    "DEFAULT_WEIGHTS": "scoring", "FACTORS": "scoring", "HARD_RULES": "scoring",
    "ExplanationItem": "scoring", "Weights": "scoring", "compatibility": "scoring",
    "exclusion_reasons": "scoring", "explain": "scoring", "factor_scores": "scoring",
    "is_allowed": "scoring", "rank": "scoring",
    "Assignment": "solver", "BatchResult": "solver", "CandidatePairs": "solver",
    "assign_greedy": "solver", "assign_optimal": "solver", "candidate_pairs": "solver",
    "solve_batch": "solver", "solve_greedy": "solver",
    "MentorTable": "table", "Pick": "table",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_WEIGHTS", "FACTORS", "HARD_RULES", "Assignment", "BatchResult", "CandidatePairs",
    "ConsentScope",
    "ExplanationItem", "Location", "Mentor", "MentorTable", "Pick", "Proposal", "ReferralCriteria",
    "VocabularyFull", "Weights", "assign_greedy", "assign_optimal", "candidate_pairs",
    "compatibility", "exclusion_reasons", "explain", "factor_scores", "is_allowed", "proposal_for",
    "propose", "rank", "solve_batch", "solve_greedy",
]
