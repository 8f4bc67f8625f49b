"""The matching settings a deployment chooses: factor weights and how long a proposal stays open."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.matching.domain.scoring import DEFAULT_WEIGHTS, Weights


@dataclass(frozen=True)
class MatchingPolicy:
    """Settings from config: ``WEIGHTS`` (per factor) and ``PROPOSAL_TTL_HOURS``."""

    weights: Weights = DEFAULT_WEIGHTS
    proposal_ttl: timedelta = timedelta(hours=48)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MatchingPolicy:
        """Raises ``ValueError`` for an unknown factor, a negative weight or a bad TTL."""
        hours = float(config.get("PROPOSAL_TTL_HOURS", 48))
        if hours <= 0:
            raise ValueError(f"PROPOSAL_TTL_HOURS must be positive: {hours}")
        return cls(Weights.from_dict(config.get("WEIGHTS")), timedelta(hours=hours))
