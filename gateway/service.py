"""The HTTP gateway: authenticates agencies, checks roles, and hands each request to a service.

Each route is a few lines: who is calling (``_caller``), what they sent (validated
by the route's schema), which service method answers. Object-level checks happen
in the service that owns the object; errors become problem+json in ``gateway.entrypoint``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request, Response

# Imported as a module: `nameko run gateway.service` runs each class here that has entrypoints.
from console import views as console_views
from gateway import (
    assessment_page,
    checkin_page,
    handlers,
    keys,
    people,
    policy,
    reports,
    sessions,
    smart,
    smart_clients,
    twilio,
)
from gateway.adapters.jwks import JwksCache
from gateway.adapters.key_invalidations import KeyCacheProvider
from gateway.adapters.orm import metadata
from gateway.adapters.people_store import SqlPeople
from gateway.adapters.stores import SqlIdempotencyStore, SqlKeyStore, gateway_repositories
from gateway.auth import Principal, authenticate, bearer_token, pepper_from_setting
from gateway.bodies import load_query, read_form, read_json
from gateway.credentials import is_session_token
from gateway.entrypoint import api, json_response, render
from gateway.fhir import endpoints as fhir
from gateway.idempotency import HEADER, REPLAY_HEADER, Created, run_once
from gateway.limits import RequestLimits, TokenBuckets
from gateway.openapi import openapi_json
from gateway.routes import CSV, FORM, NDJSON, PEM, ROUTES_BY_OPERATION
from services.kit.creations import creation_of
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import every
from services.kit.errors import Forbidden, InvalidRequest, NotFound
from services.kit.messages import shared
from services.kit.resolver import resolve_on_threads
from services.kit.rpc import ServiceClient

resolve_on_threads()  # before anything resolves a name (services/kit/resolver.py)

log = logging.getLogger(__name__)

SERVICES = ("consent", "referrals", "matching", "notifications", "engagement", "outcomes")
# A claimed Idempotency-Key's lease, in gateway deadlines (RPC_TIMEOUT_SECONDS): long enough for
# an attempt that is really running, short enough that a crashed gateway's keys free up soon.
LEASE_DEADLINES = 3
_HEALTHY = {"broker": "ok", "database": "ok"}
PEOPLE_PAGE_SIZE = 100
# The token endpoint's form: an assertion and a few short parameters.
MAX_TOKEN_FORM_BYTES = 32 * 1024
TOKEN_PATH = "/fhir/auth/token"


class Pepper(DependencyProvider):
    """The API-key pepper from config ``API_KEY_PEPPER`` (a secret from the environment)."""

    def setup(self) -> None:
        self.pepper = pepper_from_setting(self.container.config.get("API_KEY_PEPPER"))

    def get_dependency(self, worker_ctx) -> bytes:
        return self.pepper


class RateLimits(DependencyProvider):
    """Per-agency and per-person token buckets (``gateway/limits.py``) from config
    ``RATE_LIMIT_PER_SECOND`` (default 50) and ``RATE_LIMIT_BURST`` (default 200) for each agency,
    ``PERSON_RATE_LIMIT_PER_SECOND`` (default 10) and ``PERSON_RATE_LIMIT_BURST`` (default 40)
    for each signed-in person; kept by this process."""

    def setup(self) -> None:
        config = self.container.config
        self.limits = RequestLimits(
            TokenBuckets(float(config.get("RATE_LIMIT_PER_SECOND", 50)),
                         int(config.get("RATE_LIMIT_BURST", 200))),
            TokenBuckets(float(config.get("PERSON_RATE_LIMIT_PER_SECOND", 10)),
                         int(config.get("PERSON_RATE_LIMIT_BURST", 40)), whose="person"))

    def get_dependency(self, worker_ctx) -> RequestLimits:
        return self.limits


class SessionSettings(DependencyProvider):
    """How long people's sessions, invitations and lockouts last (``gateway.sessions.SessionRules``)."""

    def setup(self) -> None:
        self.rules = sessions.SessionRules.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> sessions.SessionRules:
        return self.rules


def token_url(config) -> str:
    """The SMART token endpoint's URL, the ``aud`` clients' assertions name: ``SMART_TOKEN_URL``,
    else ``PUBLIC_BASE_URL`` + ``/fhir/auth/token``, else the gateway's own address. Never the
    request's Host header, which the client chooses."""
    if config.get("SMART_TOKEN_URL"):
        return str(config["SMART_TOKEN_URL"])
    if config.get("PUBLIC_BASE_URL"):
        return str(config["PUBLIC_BASE_URL"]).rstrip("/") + TOKEN_PATH
    host, _, port = str(config.get("WEB_SERVER_ADDRESS") or "127.0.0.1:8000").rpartition(":")
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}{TOKEN_PATH}"


class SmartSettings(DependencyProvider):
    """SMART Backend Services settings: the token endpoint's URL (``token_url``), the
    access-token lifetime (``SMART_TOKEN_SECONDS``, at most 300), and the cache of clients' key
    sets (``SMART_JWKS_CACHE_SECONDS``, ``SMART_JWKS_ALLOW_LOOPBACK``), kept by this process."""

    def setup(self) -> None:
        config = self.container.config
        self.token_url = token_url(config)
        self.lifetime = smart.token_lifetime(float(config.get("SMART_TOKEN_SECONDS") or 300))
        self.allow_loopback = str(config.get("SMART_JWKS_ALLOW_LOOPBACK") or "false").strip().lower() \
            in {"true", "1", "yes"}
        self.jwks = JwksCache(allow_loopback=self.allow_loopback,
                              ttl=float(config.get("SMART_JWKS_CACHE_SECONDS") or 300))

    def get_dependency(self, worker_ctx) -> SmartSettings:
        return self


def smart_token_form(request: Request) -> dict[str, str]:
    """The token request's form parameters; ``OAuthError`` ``invalid_request`` when the body is not
    a form or repeats a parameter (RFC 6749 section 3.2)."""
    if request.mimetype != FORM:
        raise smart.OAuthError("invalid_request", f"Send the token request as {FORM}.")
    request.max_form_memory_size = MAX_TOKEN_FORM_BYTES
    request.max_content_length = MAX_TOKEN_FORM_BYTES
    form = request.form
    repeated = sorted(name for name in form if len(form.getlist(name)) > 1)
    if repeated:
        raise smart.OAuthError("invalid_request", f"The parameter {repeated[0][:40]} is repeated.")
    return {name: form[name] for name in form}


def _repositories(session, ring) -> dict:
    return {**gateway_repositories(session, ring), "people": SqlPeople(session, ring)}


def referral_filters(query: dict[str, Any]) -> dict[str, Any]:
    """The filters of a referrals listing as the ``list`` RPC takes them: set ones, instants as text."""
    return {name: (value.isoformat() if isinstance(value, datetime) else value)
            for name, value in query.items() if value is not None and name not in ("status", "page")}


def _by_link(call: Callable[[], Any], render: Callable[[Any], Response]) -> Response:
    """A page reached by a participant's single-use link: ``render(call())``, or the page that says
    the link is spent or unknown when the engagement service answers not-found."""
    try:
        answer = call()
    except NotFound as gone:
        return assessment_page.gone_page(str(gone.args[0]) if gone.args else "Not found.")
    return render(answer)


class GatewayService(fhir.FhirEndpoints, console_views.ConsolePages):
    """The API's routes, the FHIR door's (``gateway.fhir.endpoints``) and the web console's pages
    (``console.views``) on the same address."""

    name = "gateway"

    # Sealed with the gateway's own key ring: people's names and emails (never the services' keys).
    db = Database(metadata, repositories=_repositories, sealed=True)
    pepper = Pepper()
    limits = RateLimits()
    session_rules = SessionSettings()
    smart_settings = SmartSettings()
    # Key rows kept KEY_CACHE_SECONDS; key changes dropped here and broadcast to every gateway.
    key_cache = KeyCacheProvider()
    clock = Clock()
    config = Config()
    consent = ServiceClient("consent")
    referrals = ServiceClient("referrals")
    matching = ServiceClient("matching")
    notifications = ServiceClient("notifications")
    engagement = ServiceClient("engagement")
    outcomes = ServiceClient("outcomes")

    # -- plumbing shared by the routes --------------------------------------------------

    def _caller(self, request: Request, operation: str) -> Principal:
        """The authenticated caller, within its own and its agency's rate limits and allowed
        ``operation``."""
        return self._authorized(request, lambda principal: policy.authorize(principal, operation))

    def _caller_with_roles(self, request: Request, roles: frozenset[str]) -> Principal:
        """As ``_caller``, for a route allowed to ``roles`` (a ``/fhir`` route)."""
        return self._authorized(request, lambda principal: policy.authorize_roles(principal, roles))

    def _authorized(self, request: Request, check) -> Principal:
        store = SqlKeyStore(self.db, self.key_cache.cache)
        now = self.clock()
        principal = self._principal(request.headers.get("Authorization"), store, now)
        self.limits.take(principal.agency_id, principal.actor, time.monotonic())
        check(principal)
        if principal.key_id is not None:
            store.mark_used(principal.key_id, now)
        return principal

    def _ledger(self, caller: Principal) -> keys.Ledger:
        """Ledger a change ``caller`` makes (the consent service keeps the ledger)."""
        return lambda action, subject, details: self.consent.record_change(
            caller.as_caller(), {"action": action, "subject": subject, "details": details})

    def _principal(self, authorization: str | None, store: SqlKeyStore, now: datetime) -> Principal:
        """The agency (and person) behind an API key or a person's session token."""
        token = bearer_token(authorization)
        if is_session_token(token):
            return sessions.principal_of(self.db, self.pepper, self.session_rules, now, token)
        if smart.is_access_token(token):
            return smart_clients.principal_of(self.db, self.pepper, now, token)
        return authenticate(authorization, store, self.pepper, now)

    def _session_token(self, request: Request, operation: str) -> str:
        """The bearer token of a route about the caller's own session; an API key is 403."""
        self._caller(request, operation)
        token = bearer_token(request.headers.get("Authorization"))
        if not is_session_token(token):
            raise Forbidden("Only a person's session can be read or ended here.")
        return token

    def _body(self, request: Request, operation: str) -> dict[str, Any]:
        """The JSON body, validated by the route's schema (errors: 400, 413, 422)."""
        body = read_json(request)
        shared(ROUTES_BY_OPERATION[operation].request).load(body)
        return body

    def _query(self, request: Request, operation: str) -> dict[str, Any]:
        return load_query(request, shared(ROUTES_BY_OPERATION[operation].query))

    def _create(self, request: Request, operation: str, perform) -> Response:
        """A creating POST: validated, then run under its Idempotency-Key.

        ``perform(caller, body, key)`` passes the key on to the service that owns the object,
        which creates at most once per key and answers a repeat with the object it made.
        """
        caller = self._caller(request, operation)
        route = ROUTES_BY_OPERATION[operation]
        body = read_json(request)
        key = request.headers.get(HEADER)

        def attempt() -> Created:
            shared(route.request).load(body)
            result = perform(caller, body, key)
            return Created(result["id"], render(route, result))

        outcome = run_once(SqlIdempotencyStore(self.db), agency_id=caller.agency_id, key=key,
                           operation=operation, body=body, perform=attempt, lease=self._lease())
        headers = {REPLAY_HEADER: "true"} if outcome.replayed else {}
        return Response(outcome.body, status=route.status, mimetype="application/json",
                        headers=headers)

    def _lease(self) -> timedelta:
        """How long a claimed key answers 409 to a retry: a few gateway deadlines by default."""
        default = LEASE_DEADLINES * float(self.config.get("RPC_TIMEOUT_SECONDS", 5))
        return timedelta(seconds=float(self.config.get("IDEMPOTENCY_LEASE_SECONDS") or default))

    @every("IDEMPOTENCY_PURGE_SECONDS", 600)
    def purge_idempotency_records(self) -> None:
        """Forget the Idempotency-Keys claimed more than their retention ago."""
        purged = SqlIdempotencyStore(self.db).purge(datetime.now(UTC))
        if purged:
            log.info("purged %d expired idempotency record(s)", purged)

    # -- operations ----------------------------------------------------------------------

    @api("health")
    def health(self, request):
        return {"status": "ok"}

    @api("ready")
    def ready(self, request):
        pool = eventlet.GreenPool(len(SERVICES))
        services = dict(pool.imap(self._health, SERVICES))
        gateway = {"database": self.db.check()}
        healthy = gateway["database"] == "ok" and all(state == _HEALTHY for state in services.values())
        return json_response(ROUTES_BY_OPERATION["ready"], {"services": services, "gateway": gateway},
                             status=200 if healthy else 503)

    def _health(self, service: str) -> tuple[str, dict[str, str]]:
        """A service's broker and database state; no answer within 2 s: broker "unavailable"."""
        try:
            reply = getattr(self, service).health(timeout=2.0)
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return service, {"broker": "unavailable", "database": "unknown"}
        return service, {"broker": "ok", "database": str(reply.get("database", "unknown"))}

    @api("openapi")
    def openapi(self, request):
        return Response(openapi_json(), mimetype="application/json")

    # -- agencies -------------------------------------------------------------------------

    @api("create_agency")
    def create_agency(self, request):
        return self._create(request, "create_agency", lambda caller, body, key: handlers.create_agency(
            self.db, self.pepper, self._ledger(caller), body, creation_of(caller.agency_id, key, body)))

    @api("list_agencies")
    def list_agencies(self, request):
        caller = self._caller(request, "list_agencies")
        query = self._query(request, "list_agencies")
        return handlers.list_agencies(self.db, caller, query.get("page"))

    @api("deactivate_agency")
    def deactivate_agency(self, request, id):
        caller = self._caller(request, "deactivate_agency")
        return handlers.set_agency_status(self.db, self._ledger(caller), caller, id, "deactivated",
                                          self.clock(), changed=self.key_cache.changed)

    @api("reactivate_agency")
    def reactivate_agency(self, request, id):
        caller = self._caller(request, "reactivate_agency")
        return handlers.set_agency_status(self.db, self._ledger(caller), caller, id, "active",
                                          self.clock(), changed=self.key_cache.changed)

    # -- machine keys ---------------------------------------------------------------------

    @api("list_keys")
    def list_keys(self, request, id):
        caller = self._caller(request, "list_keys")
        query = self._query(request, "list_keys")
        return keys.list_keys(self.db, caller, id, query.get("page"), self.clock())

    @api("create_key")
    def create_key(self, request, id):
        caller = self._caller(request, "create_key")
        body = shared(ROUTES_BY_OPERATION["create_key"].request).load(read_json(request))
        return keys.create_key(self.db, self.pepper, self._ledger(caller), caller, id, body,
                               self.clock())

    @api("rotate_key")
    def rotate_key(self, request, id, key_id):
        caller = self._caller(request, "rotate_key")
        body = shared(ROUTES_BY_OPERATION["rotate_key"].request).load(read_json(request))
        overlap = body.get("overlap_seconds",
                           int(self.config.get("KEY_ROTATION_OVERLAP_SECONDS", 24 * 3600)))
        return keys.rotate_key(self.db, self.pepper, self._ledger(caller), caller, id, key_id,
                               timedelta(seconds=overlap), self.clock(), changed=self.key_cache.changed)

    @every("SMART_PURGE_SECONDS", 600)
    def purge_smart_records(self) -> None:
        """Forget spent SMART assertion ids and expired access tokens."""
        purged = smart_clients.purge(self.db, datetime.now(UTC))
        if purged:
            log.info("purged %d expired SMART assertion id(s) and token(s)", purged)

    # -- SMART back-end clients -------------------------------------------------------------

    @api("list_smart_clients")
    def list_smart_clients(self, request, id):
        caller = self._caller(request, "list_smart_clients")
        query = self._query(request, "list_smart_clients")
        return smart_clients.list_clients(self.db, caller, id, query.get("page"))

    @api("register_smart_client")
    def register_smart_client(self, request, id):
        caller = self._caller(request, "register_smart_client")
        body = shared(ROUTES_BY_OPERATION["register_smart_client"].request).load(read_json(request))
        return smart_clients.register_client(self.db, self._ledger(caller), caller, id, body, self.clock(),
                                             allow_loopback=self.smart_settings.allow_loopback)

    @api("revoke_smart_client")
    def revoke_smart_client(self, request, id, client_id):
        caller = self._caller(request, "revoke_smart_client")
        return smart_clients.revoke_client(self.db, self._ledger(caller), caller, id, client_id,
                                           self.clock())

    @api("smart_token")
    def smart_token(self, request):
        # Refusals are ``smart.OAuthError``: OAuth error JSON (``problems.oauth_error_response``).
        answer = smart_clients.issue_token(
            self.db, self.pepper, self.smart_settings.jwks, smart_token_form(request),
            token_url=self.smart_settings.token_url, lifetime=self.smart_settings.lifetime,
            now=self.clock())
        return Response(render(ROUTES_BY_OPERATION["smart_token"], answer), mimetype="application/json",
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @api("revoke_key")
    def revoke_key(self, request, id, key_id):
        caller = self._caller(request, "revoke_key")
        return keys.revoke_key(self.db, self._ledger(caller), caller, id, key_id, self.clock(),
                               changed=self.key_cache.changed)

    # -- people and their sessions ---------------------------------------------------------

    @api("invite_person")
    def invite_person(self, request, id):
        caller = self._caller(request, "invite_person")
        body = self._body(request, "invite_person")
        return people.invite_person(self.db, self.pepper, self.clock(), self.session_rules.invitation,
                                    caller, id, body)

    @api("list_people")
    def list_people(self, request, id):
        caller = self._caller(request, "list_people")
        query = self._query(request, "list_people")
        return people.list_people(self.db, caller, id, query.get("page"), PEOPLE_PAGE_SIZE)

    @api("update_person")
    def update_person(self, request, id, person_id):
        caller = self._caller(request, "update_person")
        body = self._body(request, "update_person")
        return people.update_person(self.db, self.clock(), caller, id, person_id, body)

    @api("reinvite_person")
    def reinvite_person(self, request, id, person_id):
        caller = self._caller(request, "reinvite_person")
        return people.reinvite_person(self.db, self.pepper, self.clock(), self.session_rules.invitation,
                                      caller, id, person_id)

    @api("accept_invitation")
    def accept_invitation(self, request):
        body = self._body(request, "accept_invitation")
        return sessions.accept_invitation(self.db, self.pepper, self.clock(), body["invitation_token"],
                                          body["password"])

    @api("confirm_totp")
    def confirm_totp(self, request):
        body = self._body(request, "confirm_totp")
        return sessions.confirm_enrolment(self.db, self.pepper, self.session_rules, self.clock(), body)

    @api("sign_in")
    def sign_in(self, request):
        body = self._body(request, "sign_in")
        return sessions.sign_in(self.db, self.pepper, self.session_rules, self.clock(), body)

    @api("get_session")
    def get_session(self, request):
        token = self._session_token(request, "get_session")
        return sessions.describe(self.db, self.pepper, self.session_rules, self.clock(), token)

    @api("sign_out")
    def sign_out(self, request):
        token = self._session_token(request, "sign_out")
        sessions.sign_out(self.db, self.pepper, self.session_rules, self.clock(), token)
        return Response(status=204)

    # -- consents -------------------------------------------------------------------------

    @api("grant_consent")
    def grant_consent(self, request):
        return self._create(request, "grant_consent", lambda caller, body, key: self.consent.grant(
            caller.as_caller(), handlers.with_recipient_kinds(self.db, body), idempotency_key=key))

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
        return self._create(request, "create_referral", lambda caller, body, key: self.referrals.create(
            caller.as_caller(), body, idempotency_key=key))

    @api("list_referrals")
    def list_referrals(self, request):
        caller = self._caller(request, "list_referrals")
        query = self._query(request, "list_referrals")
        filters = referral_filters(query)
        # Filters only when there are some: a referrals service that predates them still answers.
        extra = (filters,) if filters else ()
        return self.referrals.list(caller.as_caller(), query.get("status"), query.get("page"), *extra)

    @api("get_referral")
    def get_referral(self, request, id):
        return self.referrals.get(self._caller(request, "get_referral").as_caller(), id)

    @api("cancel_referral")
    def cancel_referral(self, request, id):
        caller = self._caller(request, "cancel_referral")
        body = self._body(request, "cancel_referral")
        return self.referrals.cancel(caller.as_caller(), id, body.get("reason"), body.get("reason_code"))

    @api("report_referral_status")
    def report_referral_status(self, request, id):
        caller = self._caller(request, "report_referral_status")
        body = self._body(request, "report_referral_status")
        return self.referrals.update_status(caller.as_caller(), id, body["status"], body.get("reason"),
                                            body.get("reason_code"))

    @api("get_handoff")
    def get_handoff(self, request, id):
        return self.referrals.handoff(self._caller(request, "get_handoff").as_caller(), id)

    # -- mentors and matches --------------------------------------------------------------

    @api("create_mentor")
    def create_mentor(self, request):
        return self._create(request, "create_mentor", lambda caller, body, key: self.matching.create_mentor(
            caller.as_caller(), body, idempotency_key=key))

    @api("list_mentors")
    def list_mentors(self, request):
        caller = self._caller(request, "list_mentors")
        query = self._query(request, "list_mentors")
        return self.matching.list_mentors(caller.as_caller(), query)

    @api("update_mentor")
    def update_mentor(self, request, id):
        caller = self._caller(request, "update_mentor")
        return self.matching.update_mentor(caller.as_caller(), id, self._body(request, "update_mentor"))

    @api("list_matches")
    def list_matches(self, request):
        caller = self._caller(request, "list_matches")
        query = self._query(request, "list_matches")
        return self.matching.list_matches(caller.as_caller(), query.get("status"), query.get("page"))

    @api("accept_match")
    def accept_match(self, request, id):
        return self.matching.accept(self._caller(request, "accept_match").as_caller(), id)

    @api("decline_match")
    def decline_match(self, request, id):
        caller = self._caller(request, "decline_match")
        body = self._body(request, "decline_match")
        return self.matching.decline(caller.as_caller(), id, body.get("reason"), body.get("reason_code"))

    # -- notifications --------------------------------------------------------------------

    @api("put_notification_settings")
    def put_notification_settings(self, request):
        caller = self._caller(request, "put_notification_settings")
        body = self._body(request, "put_notification_settings")
        return self.notifications.put_settings(caller.as_caller(), body)

    # Waits for the receiver: the webhook's own timeout (WEBHOOK_TIMEOUT_SECONDS) and a margin.
    @api("send_test_notification", deadline=30)
    def send_test_notification(self, request):
        caller = self._caller(request, "send_test_notification")
        return self.notifications.send_test(caller.as_caller(), timeout=25)

    @api("get_notification_settings")
    def get_notification_settings(self, request):
        caller = self._caller(request, "get_notification_settings")
        return self.notifications.get_settings(caller.as_caller())

    @api("list_notifications")
    def list_notifications(self, request):
        caller = self._caller(request, "list_notifications")
        query = self._query(request, "list_notifications")
        return self.notifications.deliveries(caller.as_caller(), query.get("page"), query.get("status"))

    # -- engagement after the handoff -----------------------------------------------------

    @api("log_contact")
    def log_contact(self, request, id):
        return self._create(request, "log_contact", lambda caller, body, key: self.engagement.log_contact(
            caller.as_caller(), id, body, idempotency_key=key))

    @api("get_engagement")
    def get_engagement(self, request, id):
        return self.engagement.get(self._caller(request, "get_engagement").as_caller(), id)

    @api("start_checkins")
    def start_checkins(self, request, id):
        caller = self._caller(request, "start_checkins")
        return self.engagement.start_checkins(caller.as_caller(), id, self._body(request, "start_checkins"))

    @api("put_engagement_settings")
    def put_engagement_settings(self, request):
        caller = self._caller(request, "put_engagement_settings")
        body = self._body(request, "put_engagement_settings")
        return self.engagement.put_settings(caller.as_caller(), body)

    @api("get_engagement_settings")
    def get_engagement_settings(self, request):
        return self.engagement.get_settings(self._caller(request, "get_engagement_settings").as_caller())

    @api("acknowledge_crisis")
    def acknowledge_crisis(self, request, id):
        caller = self._caller(request, "acknowledge_crisis")
        return self.engagement.acknowledge_crisis(caller.as_caller(), id)

    @api("receive_sms")
    def receive_sms(self, request):
        """A participant's text from the SMS provider: refused (403) unless its X-Twilio-Signature
        is the provider's over this URL and these parameters; answered with empty TwiML (replies go
        out through the Messages API)."""
        form = read_form(request)
        params = {name: form.getlist(name) for name in form.keys()}
        url = str(self.config.get("SMS_WEBHOOK_URL") or "") or request.url
        if not twilio.is_valid(str(self.config.get("SMS_AUTH_TOKEN") or ""), url, params,
                               request.headers.get(twilio.SIGNATURE_HEADER)):
            raise Forbidden("The webhook signature does not verify.")
        sender, body = form.get("From"), form.get("Body")
        if not sender or body is None:
            raise InvalidRequest("Not a message.", errors={"From": ["Required."], "Body": ["Required."]})
        self.engagement.receive_text(sender, body, form.get("MessageSid"))
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', mimetype="text/xml")

    @api("open_assessment")
    def open_assessment(self, request):
        token = self._query(request, "open_assessment")["t"]
        return _by_link(lambda: self.engagement.assessment_form(token),
                        lambda form: assessment_page.form_page(form, token))

    @api("answer_assessment")
    def answer_assessment(self, request):
        form = read_form(request)
        answers = {name: form.get(name) for name in form.keys() if name != "t"}
        token = form.get("t") or ""
        try:
            return _by_link(lambda: self.engagement.complete_assessment(token, answers),
                            assessment_page.done_page)
        except InvalidRequest as invalid:
            return assessment_page.form_page(self.engagement.assessment_form(token), token,
                                             getattr(invalid, "errors", None) or {"_": []})

    @api("open_checkin")
    def open_checkin(self, request):
        token = self._query(request, "open_checkin")["t"]
        return _by_link(lambda: self.engagement.checkin_form(token),
                        lambda form: checkin_page.form_page(form, token))

    @api("answer_checkin")
    def answer_checkin(self, request):
        form = read_form(request)
        token = form.get("t") or ""
        answers = {"score": form.get("score"), "word": form.get("word")}
        try:
            return _by_link(lambda: self.engagement.answer_checkin(token, answers),
                            assessment_page.done_page)
        except InvalidRequest as invalid:
            errors = getattr(invalid, "errors", None) or {"score": []}
            return _by_link(lambda: self.engagement.checkin_form(token),
                            lambda form: checkin_page.form_page(form, token, errors))

    @api("open_checkin_stop")
    def open_checkin_stop(self, request):
        token = self._query(request, "open_checkin_stop")["t"]
        return _by_link(lambda: self.engagement.checkin_stop_page(token),
                        lambda page: checkin_page.stop_page(page, token))

    @api("stop_checkin")
    def stop_checkin(self, request):
        """RFC 8058: the mail client POSTs ``List-Unsubscribe=One-Click`` to the header's URL (the
        token in its query string); the stop page's button posts the same."""
        token = self._query(request, "stop_checkin")["t"]
        return _by_link(lambda: self.engagement.stop_checkins_by_link(token), assessment_page.done_page)

    # -- reports --------------------------------------------------------------------------

    @api("get_outcomes_report")
    def get_outcomes_report(self, request):
        caller = self._caller(request, "get_outcomes_report")
        query = reports.service_query(self._query(request, "get_outcomes_report"))
        result = self.outcomes.report(caller.as_caller(), query)
        if reports.wants_csv(request.headers.get("Accept")):
            return Response(reports.report_csv(result), mimetype=CSV)
        return result

    # -- operations -----------------------------------------------------------------------

    @api("list_dead_letters")
    def list_dead_letters(self, request):
        self._caller(request, "list_dead_letters")
        return handlers.dead_letters(self.config["AMQP_URI"])

    @api("replay_dead_letter")
    def replay_dead_letter(self, request, id):
        self._caller(request, "replay_dead_letter")
        return handlers.replay_dead_letter(self.config["AMQP_URI"], id)

    # -- audit ----------------------------------------------------------------------------

    @api("list_disclosures")
    def list_disclosures(self, request, id):
        caller = self._caller(request, "list_disclosures")
        query = self._query(request, "list_disclosures")
        between = {k: query[k].isoformat() for k in ("since", "until") if query.get(k)}
        return self.consent.disclosures(caller.as_caller(), id, query.get("page"), **between)

    @api("get_ledger")
    def get_ledger(self, request):
        caller = self._caller(request, "get_ledger")
        query = self._query(request, "get_ledger")
        filters = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in query.items()}
        return self.consent.ledger(caller.as_caller(), filters)

    @api("verify_ledger", deadline=65)
    def verify_ledger(self, request):
        self._caller(request, "verify_ledger")
        return self.consent.verify_ledger(timeout=60)

    @api("start_verification")
    def start_verification(self, request):
        self._caller(request, "start_verification")
        return self.consent.start_verification()

    @api("get_verification")
    def get_verification(self, request, id):
        self._caller(request, "get_verification")
        return self.consent.verification(id)

    @api("export_ledger")
    def export_ledger(self, request):
        self._caller(request, "export_ledger")
        return Response(handlers.ledger_export_lines(self.consent), mimetype=NDJSON)

    @api("get_ledger_public_key")
    def get_ledger_public_key(self, request):
        return Response(self.consent.public_key(), mimetype=PEM)


