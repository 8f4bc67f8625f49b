"""The referrals nameko service: each entrypoint loads the caller and body, calls one handler, dumps.

RPC surface as in docs/rpc.md; the consumers of matching's and consent's events name their
event types in their ``@subscribe``.
"""

from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config

from services.kit.creations import creation_of
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import rpc, subscribe
from services.kit.messages import load, load_caller, shared
from services.kit.resolver import resolve_on_threads
from services.kit.rpc import ServiceClient
from services.referrals import schemas as s
from services.referrals.adapters.consent import ConsentClient
from services.referrals.adapters.orm import metadata
from services.referrals.adapters.repository import referral_repositories
from services.referrals.domain.commands import (
    CancelReferral,
    ListReferrals,
    OpenHandoff,
    ReadReferral,
    ReportReferralStatus,
    RequestReferral,
)
from services.referrals.domain.filters import ReferralFilters
from services.referrals.handlers import commands, consent_events, match_events, queries

resolve_on_threads()  # before anything resolves a name (services/kit/resolver.py)

DEFAULT_PAGE_SIZE = 50


class ReferralsService:
    name = "referrals"

    db = Database(metadata, repositories=referral_repositories, sealed=True)
    clock = Clock()
    config = Config()
    consent = ServiceClient("consent", timeout_key="CONSENT_RPC_TIMEOUT_SECONDS")

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def health(self) -> dict[str, str]:
        """This process's view of its database, for ``GET /ready``: ``{"database": "ok"}``."""
        return {"database": self.db.check()}

    @rpc
    def create(self, caller: dict, request: dict, idempotency_key: str | None = None) -> dict[str, Any]:
        asking = load_caller(caller)
        creation = creation_of(asking.agency_id, idempotency_key, request)
        command = RequestReferral(asking, **load(shared(s.ReferralCreateRequest), request), creation=creation)
        view = commands.create_referral(command, self.db, self._consent(), self.clock())
        return shared(s.ReferralResult).dump(view)

    @rpc
    def get(self, caller: dict, referral_id: str) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.ReferralIdSchema), {"referral_id": referral_id})
        view = queries.read_referral(ReadReferral(asking, referral_id), self.db)
        return shared(s.ReferralResult).dump(view)

    @rpc
    def list(self, caller: dict, status: str | None = None, page: str | None = None,
             filters: dict | None = None) -> dict[str, Any]:
        """``filters``: the other fields of ``ReferralListQuery`` (instants as ISO strings)."""
        asking = load_caller(caller)
        query = load(shared(s.ReferralListQuery), {**(filters or {}), "status": status, "page": page})
        listing = ListReferrals(asking, query["status"], query["page"], ReferralFilters.from_query(query))
        page_size = query.get("limit") or self._page_size()
        return shared(s.ReferralPageResult).dump(queries.list_referrals(listing, self.db, page_size))

    @rpc
    def cancel(self, caller: dict, referral_id: str, reason: str | None = None,
               reason_code: str | None = None) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.ReferralIdSchema), {"referral_id": referral_id})
        body = load(shared(s.ReferralCancelRequest), {"reason": reason, "reason_code": reason_code})
        command = CancelReferral(asking, referral_id, body["reason"], body["reason_code"])
        return shared(s.ReferralResult).dump(commands.cancel_referral(command, self.db, self.clock()))

    @rpc
    def update_status(self, caller: dict, referral_id: str, status: str,
                      reason: str | None = None, reason_code: str | None = None) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.ReferralIdSchema), {"referral_id": referral_id})
        body = load(shared(s.ReferralStatusRequest),
                    {"status": status, "reason": reason, "reason_code": reason_code})
        command = ReportReferralStatus(asking, referral_id, body["status"], body["reason"],
                                       body["reason_code"])
        return shared(s.ReferralResult).dump(commands.report_status(command, self.db, self.clock()))

    @rpc
    def handoff(self, caller: dict, referral_id: str) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.ReferralIdSchema), {"referral_id": referral_id})
        packet = commands.open_handoff(OpenHandoff(asking, referral_id), self.db, self._consent())
        return shared(s.HandoffResult).dump(packet)

    @subscribe("match.proposed", "match.accepted", "match.declined", "match.expired", "match.withdrawn",
               "match.waitlisted")
    def on_match(self, event) -> None:
        match_events.on_match(event, self.db, self._consent(), self.clock())

    @subscribe("consent.revoked", "consent.expired")
    def on_consent_ended(self, event) -> None:
        self.db.handle(event, consent_events.on_consent_ended, self.clock())

    def _consent(self) -> ConsentClient:
        return ConsentClient(self.consent)

    def _page_size(self) -> int:
        return int(self.config.get("REFERRALS_PAGE_SIZE", DEFAULT_PAGE_SIZE))
