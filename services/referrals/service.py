"""The referrals nameko service: each entrypoint parses, calls one handler, dumps.

RPC surface as in docs/rpc.md; consumers of matching's and consent's events as declared in
``services.kit.topology.SUBSCRIPTIONS`` (``referrals.on_match``, ``referrals.on_consent_ended``).
"""

from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from services.kit.dependencies import Clock, Database
from services.kit.encrypted import FieldKeys
from services.kit.entrypoints import subscribe
from services.kit.messages import CallerSchema, load
from services.kit.rpc import ServiceClient
from services.referrals import event_handlers, handlers
from services.referrals import schemas as s
from services.referrals.adapters.consent import ConsentClient
from services.referrals.adapters.orm import metadata
from services.referrals.domain.commands import (
    CancelReferral,
    ListReferrals,
    OpenHandoff,
    ReadReferral,
    ReportReferralStatus,
    RequestReferral,
)

DEFAULT_PAGE_SIZE = 50


class ReferralsService:
    name = "referrals"

    db = Database(metadata)
    clock = Clock()
    keys = FieldKeys()
    config = Config()
    consent = ServiceClient("consent", timeout_key="CONSENT_RPC_TIMEOUT_SECONDS")

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def create(self, caller: dict, request: dict) -> dict[str, Any]:
        agency_id, _ = self._caller(caller)
        body = load(s.ReferralCreateRequest(), request)
        command = RequestReferral(referrer_agency_id=agency_id, **body)
        view = handlers.create_referral(command, self.db, self._consent(), self.keys, self.clock())
        return s.ReferralResult().dump(view)

    @rpc
    def get(self, caller: dict, referral_id: str) -> dict[str, Any]:
        agency_id, admin = self._caller(caller)
        load(s.ReferralIdSchema(), {"referral_id": referral_id})
        view = handlers.read_referral(ReadReferral(referral_id, agency_id, admin), self.db, self.keys)
        return s.ReferralResult().dump(view)

    @rpc
    def list(self, caller: dict, status: str | None = None, page: str | None = None) -> dict[str, Any]:
        agency_id, admin = self._caller(caller)
        query = load(s.ReferralListQuery(), {"status": status, "page": page})
        listing = ListReferrals(agency_id, admin, query["status"], query["page"])
        result = handlers.list_referrals(listing, self.db, self.keys, self._page_size())
        return s.ReferralPageResult().dump(result)

    @rpc
    def cancel(self, caller: dict, referral_id: str, reason: str) -> dict[str, Any]:
        agency_id, _ = self._caller(caller)
        load(s.ReferralIdSchema(), {"referral_id": referral_id})
        body = load(s.ReferralCancelRequest(), {"reason": reason})
        command = CancelReferral(referral_id, agency_id, body["reason"])
        return s.ReferralResult().dump(handlers.cancel_referral(command, self.db, self.keys, self.clock()))

    @rpc
    def update_status(self, caller: dict, referral_id: str, status: str,
                      reason: str | None = None) -> dict[str, Any]:
        agency_id, _ = self._caller(caller)
        load(s.ReferralIdSchema(), {"referral_id": referral_id})
        body = load(s.ReferralStatusRequest(), {"status": status, "reason": reason})
        command = ReportReferralStatus(referral_id, agency_id, body["status"], body["reason"])
        return s.ReferralResult().dump(handlers.report_status(command, self.db, self.keys, self.clock()))

    @rpc
    def handoff(self, caller: dict, referral_id: str) -> dict[str, Any]:
        agency_id, _ = self._caller(caller)
        load(s.ReferralIdSchema(), {"referral_id": referral_id})
        packet = handlers.open_handoff(OpenHandoff(referral_id, agency_id), self.db, self._consent(),
                                       self.keys)
        return s.HandoffResult().dump(packet)

    @subscribe("match.proposed", "match.accepted", "match.declined", "match.expired", "match.withdrawn",
               "match.waitlisted")
    def on_match(self, event) -> None:
        event_handlers.on_match(event, self.db, self._consent(), self.keys, self.clock())

    @subscribe("consent.revoked", "consent.expired")
    def on_consent_ended(self, event) -> None:
        self.db.handle(event, event_handlers.on_consent_ended, self.keys, self.clock())

    # -- translation helpers ----------------------------------------------------------------------

    def _caller(self, caller: dict) -> tuple[str, bool]:
        """The caller's agency id and whether it is a network administrator."""
        known = load(CallerSchema(), caller)
        return known["agency_id"], "admin" in known["roles"]

    def _consent(self) -> ConsentClient:
        return ConsentClient(self.consent)

    def _page_size(self) -> int:
        return int(self.config.get("REFERRALS_PAGE_SIZE", DEFAULT_PAGE_SIZE))
