"""The matching nameko service: each entrypoint parses, calls one handler, dumps.

Run with ``nameko run --config services/matching/config.yml services.matching.service``.
RPC surface as in docs/rpc.md; each consumer names its event types in its ``@subscribe``;
timers for proposal expiry, the batch rebalance and certification reminders, which run
only where ``TIMERS_ENABLED`` is true (one replica).
"""

from __future__ import annotations

from typing import Any

from services.kit.contract import Event
from services.kit.creations import creation_of
from services.kit.dependencies import Clock
from services.kit.entrypoints import every, rpc, subscribe
from services.kit.messages import load, load_caller, shared
from services.kit.pages import MAX_PAGE_SIZE, read_cursor
from services.kit.resolver import resolve_on_threads
from services.kit.vocabulary import OTHER_REASON as OTHER
from services.matching import handlers
from services.matching import schemas as s
from services.matching.adapters.orm import metadata
from services.matching.dependencies import MatchingDatabase, Policy, Registry
from services.matching.domain import commands as c

resolve_on_threads()  # before anything resolves a name (services/kit/resolver.py)


class MatchingService:
    name = "matching"

    db = MatchingDatabase(metadata)
    clock = Clock()
    policy = Policy()
    registry = Registry()

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def health(self) -> dict[str, str]:
        """This process's view of its database, for ``GET /ready``: ``{"database": "ok"}``."""
        return {"database": self.db.check()}

    @rpc
    def create_mentor(self, caller: dict, request: dict,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        """The new mentor (``id``, ``agency_id``, ``active``, ``caseload``, ...).

        With ``idempotency_key``, the mentor that key registered when it was used before.
        """
        asking = load_caller(caller)
        command = c.CreateMentor(asking, load(shared(s.MentorCreateRequest), request),
                                 creation_of(asking.agency_id, idempotency_key, request))
        created = handlers.create_mentor(command, self.db, self.policy, self.clock())
        return shared(s.MentorResult).dump(created)

    @rpc
    def list_mentors(self, caller: dict, query: dict | None = None) -> dict[str, Any]:
        """``{"items": [mentor, ...], "next_page"}``: a page of the caller's agency's mentors;
        ``query`` is ``{"active"?, "page"?}``."""
        found = load(shared(s.MentorListQuery), query or {})
        command = c.ListMentors(load_caller(caller), found.get("active"),
                                read_cursor(found["page"]) if found.get("page") else None, MAX_PAGE_SIZE)
        items, next_page = handlers.list_mentors(command, self.db)
        return shared(s.MentorPageResult).dump({"items": items, "next_page": next_page})

    @rpc
    def update_mentor(self, caller: dict, mentor_id: str, changes: dict) -> dict[str, Any]:
        """The mentor after the change; ``Conflict`` when capacity would drop below caseload."""
        who, fields = load_caller(caller), load(shared(s.MentorPatchRequest), changes)
        command = c.UpdateMentor(who, load(shared(s.ObjectId), {"id": mentor_id})["id"], fields)
        updated = handlers.update_mentor(command, self.db, self.policy, self.clock())
        return shared(s.MentorResult).dump(updated)

    @rpc
    def list_matches(self, caller: dict, status: str | None = None,
                     page: str | None = None) -> dict[str, Any]:
        """``{"items": [match, ...], "next_page"}``: a page of the caller's mentors' matches,
        newest first."""
        who, query = load_caller(caller), load(shared(s.MatchListQuery), {"status": status, "page": page})
        after = read_cursor(query["page"]) if query["page"] else None
        found, next_page = handlers.list_matches(c.ListMatches(who, query["status"], after, MAX_PAGE_SIZE),
                                                 self.db)
        items = [shared(s.MatchResult).dump(item["match"]) | {"needs": item["needs"]} for item in found]
        return shared(s.MatchPageResult).dump({"items": items, "next_page": next_page})

    @rpc
    def accept(self, caller: dict, match_id: str) -> dict[str, Any]:
        """The accepted match; ``Conflict`` when it can no longer be accepted."""
        command = c.AcceptMatch(load_caller(caller), load(shared(s.ObjectId), {"id": match_id})["id"])
        return shared(s.MatchResult).dump(handlers.accept_match(command, self.db, self.clock()))

    @rpc
    def decline(self, caller: dict, match_id: str, reason: str | None = None,
                reason_code: str | None = None) -> dict[str, Any]:
        """The declined match; the referral moves on to the next-best mentor."""
        who, match_id = load_caller(caller), load(shared(s.ObjectId), {"id": match_id})["id"]
        body = load(shared(s.DeclineRequest), {"reason": reason, "reason_code": reason_code})
        command = c.DeclineMatch(who, match_id, body["reason_code"] or OTHER)
        match = handlers.decline_match(command, self.db, self.policy, self.clock(), self.registry)
        return shared(s.MatchResult).dump(match)

    @rpc
    def rebalance(self) -> dict[str, int]:
        """``{"considered", "kept", "withdrawn", "proposed", "waitlisted"}``: the batch optimum."""
        return handlers.rebalance(c.Rebalance(), self.db, self.policy, self.clock())

    # -- events -----------------------------------------------------------------------------------

    @subscribe("referral.requested")
    def on_referral_requested(self, event: Event) -> None:
        self.db.handle(event, handlers.on_referral_requested, self.policy, self.clock(),
                       self.registry)

    @subscribe("referral.status_changed")
    def on_referral_status_changed(self, event: Event) -> None:
        self.db.handle(event, handlers.on_referral_status_changed, self.policy, self.clock(),
                       self.registry)

    @subscribe("consent.revoked", "consent.expired")
    def on_consent_ended(self, event: Event) -> None:
        self.db.handle(event, handlers.on_consent_ended, self.policy, self.clock(), self.registry)

    # -- timers (one replica: TIMERS_ENABLED) --------------------------------------------------

    @every("EXPIRY_CHECK_SECONDS", 60.0)
    def expire_proposals(self) -> None:
        handlers.expire_proposals(c.ExpireProposals(), self.db, self.policy, self.clock(), self.registry)

    @every("REBALANCE_INTERVAL_SECONDS", 300.0)
    def rebalance_periodically(self) -> None:
        self.rebalance()

    @every("CERTIFICATION_CHECK_SECONDS", 3600.0)
    def remind_certifications(self) -> None:
        """``mentor.certification_expiring`` at 30 and 7 days before a certification ends."""
        handlers.remind_certifications(self.db, self.clock())
