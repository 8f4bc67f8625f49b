"""The HTTP gateway: authenticates agencies, checks roles, and hands each request to a service.

Each route is a few lines: who is calling (``_caller``), what they sent (validated
by the route's schema), which service method answers. Object-level checks happen
in the service that owns the object; errors become problem+json in ``gateway.entrypoint``.
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

from gateway import handlers, policy
from gateway.adapters.orm import metadata
from gateway.adapters.stores import SqlIdempotencyStore, SqlKeyStore
from gateway.auth import Principal, authenticate, pepper_from_setting
from gateway.bodies import load_query, read_json
from gateway.entrypoint import api, json_response, render
from gateway.idempotency import HEADER, RecordedResponse, run_once
from gateway.openapi import openapi_json
from gateway.routes import ROUTES_BY_OPERATION
from services.kit.dependencies import Database
from services.kit.rpc import ServiceClient

SERVICES = ("consent", "referrals", "matching", "notifications")


class Pepper(DependencyProvider):
    """The API-key pepper from config ``API_KEY_PEPPER`` (a secret from the environment)."""

    def setup(self) -> None:
        self.pepper = pepper_from_setting(self.container.config.get("API_KEY_PEPPER"))

    def get_dependency(self, worker_ctx) -> bytes:
        return self.pepper


class GatewayService:
    name = "gateway"

    db = Database(metadata)
    pepper = Pepper()
    consent = ServiceClient("consent")
    referrals = ServiceClient("referrals")
    matching = ServiceClient("matching")
    notifications = ServiceClient("notifications")

    # -- plumbing shared by the routes --------------------------------------------------

    def _caller(self, request: Request, operation: str) -> Principal:
        principal = authenticate(request.headers.get("Authorization"), SqlKeyStore(self.db), self.pepper)
        policy.authorize(principal, operation)
        return principal

    def _body(self, request: Request, operation: str) -> dict[str, Any]:
        """The JSON body, validated by the route's schema (errors: 400, 413, 422)."""
        body = read_json(request)
        ROUTES_BY_OPERATION[operation].request().load(body)
        return body

    def _query(self, request: Request, operation: str) -> dict[str, Any]:
        return load_query(request, ROUTES_BY_OPERATION[operation].query())

    def _create(self, request: Request, operation: str, perform) -> Response:
        """A creating POST: validated, then run once per Idempotency-Key."""
        caller = self._caller(request, operation)
        route = ROUTES_BY_OPERATION[operation]
        body = read_json(request)

        def first_time() -> RecordedResponse:
            route.request().load(body)
            return RecordedResponse(route.status, render(route, perform(caller, body)))

        outcome = run_once(SqlIdempotencyStore(self.db), agency_id=caller.agency_id,
                           key=request.headers.get(HEADER), operation=operation, body=body,
                           perform=first_time)
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return Response(outcome.response.body, status=outcome.response.status,
                        mimetype="application/json", headers=headers)

    # -- operations ----------------------------------------------------------------------

    @api("health")
    def health(self, request):
        return {"status": "ok"}

    @api("ready")
    def ready(self, request):
        pool = eventlet.GreenPool(len(SERVICES))
        states = dict(pool.imap(self._ping, SERVICES))
        status = 200 if all(state == "ok" for state in states.values()) else 503
        return json_response(ROUTES_BY_OPERATION["ready"], {"services": states}, status=status)

    def _ping(self, service: str) -> tuple[str, str]:
        try:
            return service, getattr(self, service).ping(timeout=1.0)
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return service, "unavailable"

    @api("openapi")
    def openapi(self, request):
        return Response(openapi_json(), mimetype="application/json")

    # -- agencies -------------------------------------------------------------------------

    @api("create_agency")
    def create_agency(self, request):
        return self._create(request, "create_agency",
                            lambda caller, body: handlers.create_agency(self.db, self.pepper, body))

    # -- consents -------------------------------------------------------------------------

    @api("grant_consent")
    def grant_consent(self, request):
        return self._create(request, "grant_consent", lambda caller, body: self.consent.grant(
            caller.as_caller(), handlers.with_recipient_kinds(self.db, body)))

    @api("get_consent")
    def get_consent(self, request, id):
        return self.consent.get(self._caller(request, "get_consent").as_caller(), id)

    @api("revoke_consent")
    def revoke_consent(self, request, id):
        caller = self._caller(request, "revoke_consent")
        return self.consent.revoke(caller.as_caller(), id, self._body(request, "revoke_consent"))

    @api("attest_consent")
    def attest_consent(self, request, id):
        return self.consent.attest(self._caller(request, "attest_consent").as_caller(), id)

    @api("end_treatment")
    def end_treatment(self, request, id):
        return self.consent.end_treatment(self._caller(request, "end_treatment").as_caller(), id)

    # -- referrals ------------------------------------------------------------------------

    @api("create_referral")
    def create_referral(self, request):
        return self._create(request, "create_referral",
                            lambda caller, body: self.referrals.create(caller.as_caller(), body))

    @api("list_referrals")
    def list_referrals(self, request):
        caller = self._caller(request, "list_referrals")
        query = self._query(request, "list_referrals")
        return self.referrals.list(caller.as_caller(), query.get("status"), query.get("page"))

    @api("get_referral")
    def get_referral(self, request, id):
        return self.referrals.get(self._caller(request, "get_referral").as_caller(), id)

    @api("cancel_referral")
    def cancel_referral(self, request, id):
        caller = self._caller(request, "cancel_referral")
        body = self._body(request, "cancel_referral")
        return self.referrals.cancel(caller.as_caller(), id, body["reason"])

    @api("report_referral_status")
    def report_referral_status(self, request, id):
        caller = self._caller(request, "report_referral_status")
        body = self._body(request, "report_referral_status")
        return self.referrals.update_status(caller.as_caller(), id, body["status"], body.get("reason"))

    @api("get_handoff")
    def get_handoff(self, request, id):
        return self.referrals.handoff(self._caller(request, "get_handoff").as_caller(), id)

    # -- mentors and matches --------------------------------------------------------------

    @api("create_mentor")
    def create_mentor(self, request):
        return self._create(request, "create_mentor",
                            lambda caller, body: self.matching.create_mentor(caller.as_caller(), body))

    @api("list_mentors")
    def list_mentors(self, request):
        caller = self._caller(request, "list_mentors")
        self._query(request, "list_mentors")
        return self.matching.list_mentors(caller.as_caller())

    @api("update_mentor")
    def update_mentor(self, request, id):
        caller = self._caller(request, "update_mentor")
        return self.matching.update_mentor(caller.as_caller(), id, self._body(request, "update_mentor"))

    @api("list_matches")
    def list_matches(self, request):
        caller = self._caller(request, "list_matches")
        query = self._query(request, "list_matches")
        return self.matching.list_matches(caller.as_caller(), query.get("status"))

    @api("accept_match")
    def accept_match(self, request, id):
        return self.matching.accept(self._caller(request, "accept_match").as_caller(), id)

    @api("decline_match")
    def decline_match(self, request, id):
        caller = self._caller(request, "decline_match")
        body = self._body(request, "decline_match")
        return self.matching.decline(caller.as_caller(), id, body["reason"])

    # -- notifications --------------------------------------------------------------------

    @api("put_notification_settings")
    def put_notification_settings(self, request):
        caller = self._caller(request, "put_notification_settings")
        body = self._body(request, "put_notification_settings")
        return self.notifications.put_settings(caller.as_caller(), body)

    @api("get_notification_settings")
    def get_notification_settings(self, request):
        caller = self._caller(request, "get_notification_settings")
        return self.notifications.get_settings(caller.as_caller())

    @api("list_notifications")
    def list_notifications(self, request):
        caller = self._caller(request, "list_notifications")
        query = self._query(request, "list_notifications")
        return self.notifications.deliveries(caller.as_caller(), query.get("page"), query.get("status"))

    # -- audit ----------------------------------------------------------------------------

    @api("list_disclosures")
    def list_disclosures(self, request, id):
        caller = self._caller(request, "list_disclosures")
        self._query(request, "list_disclosures")
        return self.consent.disclosures(caller.as_caller(), id)

    @api("get_ledger")
    def get_ledger(self, request):
        self._caller(request, "get_ledger")
        query = self._query(request, "get_ledger")
        filters = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in query.items()}
        return self.consent.ledger(filters)

    @api("verify_ledger")
    def verify_ledger(self, request):
        self._caller(request, "verify_ledger")
        return self.consent.verify_ledger(timeout=60)


