"""nameko pieces of the matching service: its settings from config, and its timers.

Timers (proposal expiry, batch rebalance) must run in one replica only: two rebalancers would
fight over the same proposals. ``TIMERS_ENABLED`` (default true) switches them off in the
scalable replicas; deploy/ runs them in the single ``matching-timers`` replica. Should two
ever overlap, every change is still a conditional update and rebalances take a database lock,
so the outcome stays correct, only wasteful.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.kit.dependencies import Database
from services.matching.adapters import repositories
from services.matching.adapters.registry_cache import CachedRegistry
from services.matching.domain.ladder import LevelCaps
from services.matching.domain.policy import MatchingPolicy


def flag(value: Any) -> bool:
    """A boolean from YAML or the environment ("true", "1", "yes", "on" are true)."""
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


class Policy(DependencyProvider):
    """``MatchingPolicy`` from config (``WEIGHTS``, ``PROPOSAL_TTL_HOURS``), read once at setup;
    a malformed value stops the service from starting rather than matching wrongly."""

    def setup(self) -> None:
        self.policy = MatchingPolicy.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> MatchingPolicy:
        return self.policy


class Registry(DependencyProvider):
    """This replica's cached mentor registry (see ``registry_cache``), one per container."""

    def setup(self) -> None:
        self.registry = CachedRegistry(MatchingPolicy.from_config(self.container.config).weights)

    def get_dependency(self, worker_ctx) -> CachedRegistry:
        return self.registry



class MatchingDatabase(Database):
    """The kit's ``Database`` whose mentor repository knows the caseload caps of the ladder's
    levels (``LEVEL_CAPS`` in config, read once at setup; a malformed cap stops the start)."""

    def setup(self) -> None:
        self.caps = LevelCaps.from_dict(self.container.config.get("LEVEL_CAPS"))
        super().setup()

    def _repositories_of(self, session: Session) -> Mapping[str, Any]:
        return repositories(session, self.ring, self.caps)
