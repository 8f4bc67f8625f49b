"""The matching nameko service: each entrypoint parses, calls one handler, dumps.

Run with ``nameko run --config services/matching/config.yml services.matching.service``.
RPC surface as in docs/rpc.md; consumers as declared in ``services.kit.topology.SUBSCRIPTIONS``
(``matching.on_referral_requested``, ``matching.on_referral_status_changed``,
``matching.on_consent_ended``); timers for proposal expiry and the batch rebalance, which run
only where ``TIMERS_ENABLED`` is true (one replica).
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from services.kit.contract import Event
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import every, subscribe
from services.kit.messages import CallerSchema, load
from services.matching import event_handlers, handlers
from services.matching import schemas as s
from services.matching.adapters.orm import metadata
from services.matching.dependencies import Policy, Registry


class MatchingService:
    name = "matching"

    db = Database(metadata)
    clock = Clock()
    policy = Policy()
    registry = Registry()

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def create_mentor(self, caller: dict, request: dict) -> dict[str, Any]:
        """The new mentor (``id``, ``agency_id``, ``active``, ``caseload``, ...)."""
        who, fields = self._caller(caller), load(s.MentorCreateRequest(), request)
        with self.db as uow:
            mentor = handlers.create_mentor(who, fields, uow, self.policy, self.clock())
            uow.commit()
        return s.MentorResult().dump(mentor)

    @rpc
    def list_mentors(self, caller: dict) -> dict[str, Any]:
        """``{"items": [mentor, ...]}`` of the caller's agency."""
        who = self._caller(caller)
        with self.db as uow:
            return s.MentorPageResult().dump({"items": handlers.list_mentors(who, uow)})

    @rpc
    def update_mentor(self, caller: dict, mentor_id: str, changes: dict) -> dict[str, Any]:
        """The mentor after the change; ``Conflict`` when capacity would drop below caseload."""
        who, fields = self._caller(caller), load(s.MentorPatchRequest(), changes)
        load(s.ObjectId(), {"id": mentor_id})
        with self.db as uow:
            mentor = handlers.update_mentor(who, mentor_id, fields, uow, self.policy, self.clock())
            uow.commit()
        return s.MentorResult().dump(mentor)

    @rpc
    def list_matches(self, caller: dict, status: str | None = None) -> dict[str, Any]:
        """``{"items": [match, ...]}`` of the caller's mentors, newest first."""
        who, query = self._caller(caller), load(s.MatchListQuery(), {"status": status})
        with self.db as uow:
            items = handlers.list_matches(who, query["status"], uow)
        return s.MatchPageResult().dump({"items": items})

    @rpc
    def accept(self, caller: dict, match_id: str) -> dict[str, Any]:
        """The accepted match; ``Conflict`` when it can no longer be accepted."""
        who = self._caller(caller)
        load(s.ObjectId(), {"id": match_id})
        with self.db as uow:
            match = handlers.accept(who, match_id, uow, self.policy, self.clock())
            uow.commit()
        return s.MatchResult().dump(match)

    @rpc
    def decline(self, caller: dict, match_id: str, reason: str) -> dict[str, Any]:
        """The declined match; the referral moves on to the next-best mentor."""
        who = self._caller(caller)
        load(s.ObjectId(), {"id": match_id})
        load(s.DeclineRequest(), {"reason": reason})
        with self.db as uow:
            match = handlers.decline(who, match_id, uow, self.policy, self.clock(), self.registry)
            uow.commit()
        return s.MatchResult().dump(match)

    @rpc
    def rebalance(self) -> dict[str, int]:
        """``{"considered", "kept", "withdrawn", "proposed", "waitlisted"}``: the batch optimum."""
        with self.db as uow:
            counts = handlers.rebalance(uow, self.policy, self.clock())
            uow.commit()
        return counts

    # -- events -----------------------------------------------------------------------------------

    @subscribe("referral.requested")
    def on_referral_requested(self, event: Event) -> None:
        self.db.handle(event, event_handlers.on_referral_requested, self.policy, self.clock(),
                       self.registry)

    @subscribe("referral.status_changed")
    def on_referral_status_changed(self, event: Event) -> None:
        self.db.handle(event, event_handlers.on_referral_status_changed, self.policy, self.clock(),
                       self.registry)

    @subscribe("consent.revoked", "consent.expired")
    def on_consent_ended(self, event: Event) -> None:
        self.db.handle(event, event_handlers.on_consent_ended, self.policy, self.clock(),
                       self.registry)

    # -- timers (one replica: TIMERS_ENABLED) --------------------------------------------------

    @every("EXPIRY_CHECK_SECONDS", 60.0)
    def expire_proposals(self) -> None:
        with self.db as uow:
            event_handlers.expire_proposals(uow, self.policy, self.clock(), self.registry)
            uow.commit()

    @every("REBALANCE_INTERVAL_SECONDS", 300.0)
    def rebalance_periodically(self) -> None:
        self.rebalance()

    def _caller(self, caller: dict) -> handlers.Caller:
        known = load(CallerSchema(), caller)
        return handlers.Caller(known["agency_id"], known["kind"], frozenset(known["roles"]))
