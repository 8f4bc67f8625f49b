"""The outcomes service: a de-identified reporting read model fed by the other services' events.

Run with ``nameko run --config services/outcomes/config.yml services.outcomes.service``.
It keeps every event it consumes in an append-only log (ids, codes, timestamps; the participant
only as a digest), projects it into the read model, and answers reports in which no figure
describes fewer than ``OUTCOMES_K`` participants (docs/outcomes.md).
"""

from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config

from services.kit.contract import Event
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import rpc, subscribe
from services.kit.errors import Forbidden
from services.kit.messages import load, load_caller, shared
from services.kit.resolver import resolve_on_threads
from services.outcomes import schemas as s
from services.outcomes.adapters.orm import metadata
from services.outcomes.adapters.repository import outcomes_repositories
from services.outcomes.domain.disclosure import DEFAULT_K
from services.outcomes.domain.facts import CONSUMED
from services.outcomes.handlers import events, reports

resolve_on_threads()  # before anything resolves a name (services/kit/resolver.py)


class OutcomesService:
    name = "outcomes"

    db = Database(metadata, repositories=outcomes_repositories)
    clock = Clock()
    config = Config()

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def health(self) -> dict[str, str]:
        """This process's view of its database, for ``GET /ready``: ``{"database": "ok"}``."""
        return {"database": self.db.check()}

    @subscribe(*CONSUMED)
    def on_event(self, event: Event) -> None:
        # The event log is its own inbox. The events the workers hold at once go in one
        # transaction (services/kit/group_commit.py): nobody waits on a read model, and per
        # event its transaction cost more than its statements.
        self.db.handle_grouped(event, events.record_all, events.record)

    @rpc
    def report(self, caller: dict, query: dict) -> dict[str, Any]:
        """The outcome tables a funder, the operator (the network's) or an agency admin (its own) may see."""
        asking = load_caller(caller)
        body = load(shared(s.OutcomesQuery), query)
        result = reports.outcome_report(self.db, asking, body, self._k(), self.clock())
        return shared(s.OutcomesReport).dump(result)

    @rpc
    def rebuild(self, caller: dict) -> dict[str, Any]:
        """Replay the event log into fresh read-model tables (the operator only)."""
        if not load_caller(caller).is_operator:
            raise Forbidden("Only the operator rebuilds the outcomes read model.")
        return shared(s.RebuildResult).dump(reports.rebuild(self.db))

    def _k(self) -> int:
        return max(int(self.config.get("OUTCOMES_K", DEFAULT_K)), 2)
