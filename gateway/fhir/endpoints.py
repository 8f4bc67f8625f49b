"""The ``/fhir`` routes, served through the same service calls, rules and ledger as ``/v1``.

``FhirEndpoints`` is mixed into ``GatewayService``: one nameko ``@http`` entrypoint per row of
``gateway/fhir/routes.py``, each calling the function of this module its ``operation`` names with
a ``Ctx`` (the gateway, the request, the route). Every route authenticates as ``/v1`` does
(API keys and people's sessions), checks the route's roles and then ``access.require_scope``.
Answers are ``application/fhir+json``; failures are OperationOutcomes
(``gateway.entrypoint.fhir_error_response``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway import handlers
from gateway.adapters import directory
from gateway.auth import Principal
from gateway.bodies import MAX_NESTING, nesting_depth, parse_json, read_json
from gateway.entrypoint import FHIR_JSON, ApiRoute, fhir_error_response
from gateway.exceptions import MalformedBody, PayloadTooLarge
from gateway.fhir import access
from gateway.fhir.bundle import read_transaction, response_entry, transaction_response
from gateway.fhir.capability import capability_statement
from gateway.fhir.codes import EXT_REVOCATION_REASON
from gateway.fhir.consent import (
    CONSENT_PATHS,
    DISCLOSERS_PATH,
    PART2_ELEMENTS,
    RECIPIENTS_PATH,
    REWORDED,
    consent_request,
    fhir_consent,
)
from gateway.fhir.organization import organization
from gateway.fhir.outcome import MultipleMatches
from gateway.fhir.paths import load_as_fhir, rename_invalid
from gateway.fhir.patient import patient as patient_resource
from gateway.fhir.references import invalid, target
from gateway.fhir.referral import (
    REFERRAL_PATHS,
    fhir_service_request,
    fhir_task,
    identifier_of,
    referral_request,
    task_change,
)
from gateway.fhir.routes import FHIR_ROUTES, FHIR_ROUTES_BY_OPERATION, FhirRoute
from gateway.fhir.search import SERVICE_REQUEST_PARAMS, TASK_PARAMS, referral_query, searchset
from gateway.fhir.subscription import (
    STATUSES as SUBSCRIPTION_STATUSES,
)
from gateway.fhir.subscription import (
    SUBSCRIPTION_PATHS,
    fhir_subscription,
    status_change,
    subscription_request,
)
from gateway.problems import EXPECTED_EXCEPTIONS
from services.consent.schemas import ConsentCreateRequest
from services.kit.creations import HEADER, check_key
from services.kit.errors import InvalidRequest, NotFound
from services.kit.vocabulary import NUL_MESSAGE, OPERATOR, nul_paths
from services.referrals.schemas import REPORTED_STATUSES, ReferralCreateRequest

MAX_FHIR_BODY = 256 * 1024  # a transaction Bundle carries four resources
DEFAULT_REVOCATION = "Revoked by the participant."
_TASK_CHANGE_PATHS = {"status": "Task.status", "reason_code": "Task.statusReason",
                      "reason": "Task.note"}


class FhirEntrypoint(ApiRoute):
    """An ``@http`` route of the FHIR table, answering errors as OperationOutcomes."""

    def __init__(self, operation: str, **kwargs: Any) -> None:
        self.route = FHIR_ROUTES_BY_OPERATION[operation]  # type: ignore[assignment]
        self.deadline = None
        super(ApiRoute, self).__init__(self.route.method, self.route.url_rule,
                                       expected_exceptions=EXPECTED_EXCEPTIONS, **kwargs)

    def response_from_result(self, result: Any) -> Response:
        return result if isinstance(result, Response) else fhir_response(result)

    def error_response(self, exc: BaseException, request_id: str) -> Response:
        return fhir_error_response(exc, request_id)


def fhir_response(resource: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(resource), status=status, mimetype=FHIR_JSON, headers=headers)


@dataclass
class Ctx:
    gateway: Any  # the GatewayService worker instance
    request: Request
    route: FhirRoute

    @property
    def base(self) -> str:
        return self.request.url_root.rstrip("/") + "/fhir"

    def caller(self) -> Principal:
        """The authenticated caller, allowed the route by its roles and scopes."""
        principal = self.gateway._caller_with_roles(self.request, self.route.roles)
        if self.route.resource_type and self.route.scope_letter:
            access.require_scope(principal, self.route.resource_type, self.route.scope_letter)
        return principal

    def body(self) -> Any:
        return read_json(self.request, MAX_FHIR_BODY)

    def args(self) -> dict[str, list[str]]:
        return {key: self.request.args.getlist(key) for key in self.request.args}


# -- metadata ------------------------------------------------------------------------------------

def fhir_metadata(ctx: Ctx) -> dict[str, Any]:
    return capability_statement(ctx.base, datetime.now(UTC).date().isoformat())


# -- consents ------------------------------------------------------------------------------------

def _grant(ctx: Ctx, caller: Principal, consent: Any, resources: dict[str, dict[str, Any]],
           key: str | None) -> dict[str, Any]:
    body, extra = consent_request(consent, resources)
    load_as_fhir(ConsentCreateRequest(), body, CONSENT_PATHS, PART2_ELEMENTS, extra, REWORDED)
    try:
        with_kinds = handlers.with_recipient_kinds(ctx.gateway.db, body)
    except InvalidRequest as exc:
        raise rename_invalid(exc, {"recipients.agencies": RECIPIENTS_PATH,
                                   "disclosers": DISCLOSERS_PATH}) from None
    try:
        return ctx.gateway.consent.grant(caller.as_caller(), with_kinds, idempotency_key=key)
    except InvalidRequest as exc:
        raise rename_invalid(exc, CONSENT_PATHS, PART2_ELEMENTS, REWORDED) from None


def fhir_create_consent(ctx: Ctx) -> Response:
    caller = ctx.caller()
    view = _grant(ctx, caller, ctx.body(), {}, _header_key(ctx, "consent"))
    resource = fhir_consent(view)
    return fhir_response(resource, 201, Location=f"{ctx.base}/Consent/{resource['id']}")


def fhir_read_consent(ctx: Ctx, id: str) -> dict[str, Any]:
    return fhir_consent(ctx.gateway.consent.get(ctx.caller().as_caller(), id))


def _revoke(ctx: Ctx, caller: Principal, id: str, status: Any, reason: str | None) -> dict[str, Any]:
    current = ctx.gateway.consent.get(caller.as_caller(), id)
    if status == "active" and current.get("status") == "active":
        return fhir_consent(current)
    if status != "inactive":
        raise invalid("Consent.status", "A consent changes only by revocation: status inactive.")
    if current.get("status") != "active":
        return fhir_consent(current)
    revoked = ctx.gateway.consent.revoke(caller.as_caller(), id, {"reason": reason or DEFAULT_REVOCATION})
    return fhir_consent(revoked)


def fhir_update_consent(ctx: Ctx, id: str) -> dict[str, Any]:
    caller = ctx.caller()
    body = ctx.body()
    if body.get("resourceType") != "Consent" or body.get("id") != id:
        raise invalid("Consent.id", "PUT the Consent with its id.")
    extension = next((e for e in body.get("extension") or []
                      if isinstance(e, dict) and e.get("url") == EXT_REVOCATION_REASON), {})
    return _revoke(ctx, caller, id, body.get("status"), extension.get("valueString"))


def fhir_patch_consent(ctx: Ctx, id: str) -> dict[str, Any]:
    caller = ctx.caller()
    body = _patch_body(ctx)
    if isinstance(body, list):
        status = next((op.get("value") for op in body if isinstance(op, dict)
                       and op.get("op") in ("replace", "add") and op.get("path") == "/status"), None)
        return _revoke(ctx, caller, id, status, None)
    if not isinstance(body, dict):
        raise invalid("Consent", "Send a JSON Patch of its status, or a partial Consent.")
    return _revoke(ctx, caller, id, body.get("status"), None)


# -- referrals -----------------------------------------------------------------------------------

def _keys(ctx: Ctx, request: dict[str, Any]) -> tuple[str | None, str | None]:
    """The Idempotency-Keys of the consent and the referral one request makes: from the request's
    Idempotency-Key, else from the ServiceRequest's identifier, so a retry makes neither twice."""
    offered = ctx.request.headers.get(HEADER)
    if offered is not None:
        check_key(offered)
        seed = offered
    else:
        system, value, _ = identifier_of(request, "ServiceRequest") if isinstance(request, dict) else (
            None, None, [])
        if value is None:
            return None, None
        seed = "fhir-sr:" + hashlib.sha256(f"{system or ''}|{value}".encode()).hexdigest()[:48]
    return _derived(seed, "consent"), _derived(seed, "referral")


def _derived(seed: str, part: str) -> str:
    key = f"{seed}:{part}"
    return key if len(key) <= 255 else hashlib.sha256(key.encode()).hexdigest() + f":{part}"


def _header_key(ctx: Ctx, part: str) -> str | None:
    offered = ctx.request.headers.get(HEADER)
    return _derived(check_key(offered), part) if offered is not None else None


def _existing(ctx: Ctx, caller: Principal, condition: str | None, path: str) -> dict[str, Any] | None:
    """The referral a conditional create's criteria find (None: none; 412 when several)."""
    if not condition:
        return None
    args = parse_qs(condition.lstrip("?"), keep_blank_values=True)
    try:
        query = referral_query(args, SERVICE_REQUEST_PARAMS, "ServiceRequest")
    except InvalidRequest as exc:
        raise rename_invalid(exc, {name: path for name in args}) from None
    query["limit"] = 2
    found = _list(ctx, caller, query)["items"]
    if len(found) > 1:
        raise MultipleMatches("The If-None-Exist criteria match more than one referral.")
    return found[0] if found else None


def _check_task(task: dict[str, Any], request_url: str | None, body: dict[str, Any],
                local: dict[str, str]) -> dict[str, list[str]]:
    """What is wrong with the Task sent with a ServiceRequest (keyed by FHIR path)."""
    errors: dict[str, list[str]] = {}
    if task.get("status") not in (None, "requested"):
        errors["Task.status"] = ["A new referral's Task is requested."]
    if task.get("intent") not in (None, "order"):
        errors["Task.intent"] = ["A referral's Task is an order."]
    focus = (task.get("focus") or {}).get("reference")
    if focus is not None and request_url is not None and focus != request_url:
        errors["Task.focus"] = ["The Task's focus is the ServiceRequest of the same Bundle."]
    system, value, problems = identifier_of(task, "Task")
    for problem in problems:
        errors.setdefault(problem.partition(": ")[0], []).append(problem.partition(": ")[2])
    if value is not None:
        if body.get("external_id") is None:
            body["external_id"] = value
            if system:
                body["external_id_system"] = system
        elif (body.get("external_id"), body.get("external_id_system")) != (value, system):
            errors["Task.identifier"] = ["Give the Task the ServiceRequest's identifier, or none."]
    return errors


def _refer(ctx: Ctx, caller: Principal, request: Any, task: dict[str, Any] | None,
           resources: dict[str, dict[str, Any]], local: dict[str, str], patient: dict[str, Any] | None,
           request_url: str | None, key: str | None) -> dict[str, Any]:
    body, extra = referral_request(request, resources, local, caller.agency_id, patient)
    if task is not None:
        for path, messages in _check_task(task, request_url, body, local).items():
            extra.setdefault(path, []).extend(messages)
    load_as_fhir(ReferralCreateRequest(), body, REFERRAL_PATHS, None, extra)
    try:
        return ctx.gateway.referrals.create(caller.as_caller(), body, idempotency_key=key)
    except InvalidRequest as exc:
        raise rename_invalid(exc, REFERRAL_PATHS) from None


def fhir_transaction(ctx: Ctx) -> dict[str, Any]:
    """A referral's Bundle: Patient and Consent (or a reference to a recorded Consent),
    ServiceRequest, Task. The Consent is recorded first, then the referral; the Patient's id is
    the participant id the consent gives. Every entry is checked before anything is recorded; a
    referral refused after its consent was recorded leaves the consent, and a retry of the same
    Bundle finds it again (its Idempotency-Key comes from the request's, or the identifier's)."""
    caller = ctx.caller()
    transaction = read_transaction(ctx.body())
    for entry in transaction.entries:
        access.require_scope(caller, entry.type, "create")
    service_request = transaction.one("ServiceRequest")
    task = transaction.one("Task")
    consent = transaction.one("Consent")
    patient = transaction.one("Patient")
    resources = transaction.resources()
    condition = next((e.if_none_exist for e in (service_request, task) if e and e.if_none_exist), None)
    existing = _existing(ctx, caller, condition, f"{service_request.path}.request.ifNoneExist")
    if existing is not None:
        return transaction_response(_answer_entries(ctx, caller, transaction, existing, created=False))
    consent_key, referral_key = _keys(ctx, service_request.resource)
    if consent is not None:
        # Check the referral's own elements before recording anything.
        stand_in = {u: "00000000-0000-4000-8000-000000000000" for u in (consent.full_url, patient and
                                                                         patient.full_url) if u}
        body, extra = referral_request(service_request.resource, resources, stand_in, caller.agency_id,
                                       patient.resource if patient else None)
        if task is not None:
            extra.update(_check_task(task.resource, service_request.full_url, body, stand_in))
        load_as_fhir(ReferralCreateRequest(), body, REFERRAL_PATHS, None, extra)
        consent_view = _grant(ctx, caller, consent.resource, resources, consent_key)
    local: dict[str, str] = {}
    if consent is not None:
        if consent.full_url:
            local[consent.full_url] = consent_view["id"]
        if patient is not None and patient.full_url:
            local[patient.full_url] = consent_view["participant_id"]
    elif patient is not None:
        raise invalid(f"{patient.path}.resource", "A Patient comes with the Consent that names them.")
    view = _refer(ctx, caller, service_request.resource, task.resource if task else None, resources,
                  local, patient.resource if patient else None, service_request.full_url, referral_key)
    return transaction_response(_answer_entries(ctx, caller, transaction, view, created=True))


def _answer_entries(ctx: Ctx, caller: Principal, transaction, view: dict[str, Any],
                    created: bool) -> list[dict[str, Any]]:
    answers = []
    for entry in transaction.entries:
        if entry.type == "Patient":
            resource = patient_resource(view["participant_id"])
        elif entry.type == "Consent":
            resource = fhir_consent(ctx.gateway.consent.get(caller.as_caller(), view["consent_id"]))
        elif entry.type == "ServiceRequest":
            resource = fhir_service_request(view)
        else:
            resource = fhir_task(view)
        answers.append(response_entry(resource, ctx.base, created))
    return answers


def _create_referral(ctx: Ctx, kind: str) -> Response:
    caller = ctx.caller()
    sent = ctx.body()
    condition = ctx.request.headers.get("If-None-Exist")
    existing = _existing(ctx, caller, condition, "If-None-Exist")
    render = fhir_service_request if kind == "ServiceRequest" else fhir_task
    if existing is not None:
        resource = render(existing)
        return fhir_response(resource, 200, Location=f"{ctx.base}/{kind}/{resource['id']}")
    if kind == "ServiceRequest":
        view = _refer(ctx, caller, sent, None, {}, {}, None, None, _keys(ctx, sent)[1])
        status = 201
    else:
        view = _task_for_recorded_request(ctx, caller, sent)
        status = 200
    resource = render(view)
    return fhir_response(resource, status, Location=f"{ctx.base}/{kind}/{resource['id']}")


def _task_for_recorded_request(ctx: Ctx, caller: Principal, task: Any) -> dict[str, Any]:
    """A Task posted for a ServiceRequest already made: the referral's Task, which came into being
    with it (answered 200, not 201). Its identifier, if any, must be the referral's."""
    if not isinstance(task, dict) or task.get("resourceType") != "Task":
        raise invalid("Task", "Send a Task resource.")
    referral_id = target(task.get("focus"), "ServiceRequest", "Task.focus")
    view = ctx.gateway.referrals.get(caller.as_caller(), referral_id)
    if view["referrer_agency_id"] != caller.agency_id:
        raise NotFound("No such referral.")
    known = {"external_id": view.get("external_id"), "external_id_system": view.get("external_id_system")}
    errors = _check_task(task, None, known, {})
    system, value, _ = identifier_of(task, "Task")
    if value is not None and (view.get("external_id"), view.get("external_id_system")) != (value, system):
        errors["Task.identifier"] = ["Give the Task the ServiceRequest's identifier, or none."]
    if errors:
        raise InvalidRequest("Some elements are missing or invalid.", errors=errors)
    return view


def fhir_create_service_request(ctx: Ctx) -> Response:
    return _create_referral(ctx, "ServiceRequest")


def fhir_create_task(ctx: Ctx) -> Response:
    return _create_referral(ctx, "Task")


def fhir_read_service_request(ctx: Ctx, id: str) -> dict[str, Any]:
    return fhir_service_request(ctx.gateway.referrals.get(ctx.caller().as_caller(), id))


def fhir_read_task(ctx: Ctx, id: str) -> dict[str, Any]:
    return fhir_task(ctx.gateway.referrals.get(ctx.caller().as_caller(), id))


def _list(ctx: Ctx, caller: Principal, query: dict[str, Any]) -> dict[str, Any]:
    filters = {k: v for k, v in query.items() if k not in ("status", "page", "id")}
    try:
        return ctx.gateway.referrals.list(caller.as_caller(), query.get("status"), query.get("page"),
                                          filters)
    except InvalidRequest as exc:
        names = {"page": "_page", "limit": "_count", "updated_after": "_lastUpdated",
                 "updated_before": "_lastUpdated", "external_id": "identifier",
                 "external_id_system": "identifier", "referrer_agency_id": "requester",
                 "assigned_agency_id": "owner", "participant_id": "patient", "status": "status"}
        raise rename_invalid(exc, names) from None


def _search(ctx: Ctx, kind: str, params: tuple[str, ...],
            render: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    caller = ctx.caller()
    args = ctx.args()
    query = referral_query(args, params, kind)
    if "id" in query:
        try:
            view = ctx.gateway.referrals.get(caller.as_caller(), query["id"])
        except NotFound:
            views = []
        else:
            views = [view] if _view_matches(view, query) else []
        return searchset(ctx.base, kind, [render(v) for v in views], args, None)
    listing = _list(ctx, caller, query)
    items = [item for item in listing["items"] if item.get("integrity") != "unreadable"]
    return searchset(ctx.base, kind, [render(v) for v in items], args, listing.get("next_page"))


def _view_matches(view: dict[str, Any], query: dict[str, Any]) -> bool:
    """Whether one referral read by id passes the other criteria of the search."""
    updated = datetime.fromisoformat(view["updated_at"].replace("Z", "+00:00"))
    checks = {
        "status": lambda v: view["status"] == v,
        "referrer_agency_id": lambda v: view["referrer_agency_id"] == v,
        "assigned_agency_id": lambda v: view.get("assigned_agency_id") == v,
        "participant_id": lambda v: view["participant_id"] == v,
        "external_id": lambda v: view.get("external_id") == v,
        "external_id_system": lambda v: view.get("external_id_system") == v,
        "updated_after": lambda v: updated > datetime.fromisoformat(v),
        "updated_before": lambda v: updated < datetime.fromisoformat(v),
    }
    return all(check(query[name]) for name, check in checks.items() if name in query)


def fhir_search_task(ctx: Ctx) -> dict[str, Any]:
    return _search(ctx, "Task", TASK_PARAMS, fhir_task)


def fhir_search_service_request(ctx: Ctx) -> dict[str, Any]:
    return _search(ctx, "ServiceRequest", SERVICE_REQUEST_PARAMS, fhir_service_request)


def _patch_body(ctx: Ctx) -> Any:
    """A PATCH body: a JSON Patch (a list) or a JSON object, within the size limit."""
    request = ctx.request
    too_large = PayloadTooLarge(f"The request body must not exceed {MAX_FHIR_BODY} bytes.")
    if request.content_length is not None and request.content_length > MAX_FHIR_BODY:
        raise too_large
    request.max_content_length = MAX_FHIR_BODY + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > MAX_FHIR_BODY:
        raise too_large
    if not raw.lstrip().startswith(b"["):
        return parse_json(raw)  # an object: read as every other body is
    # A JSON Patch (a list): the same checks of depth, syntax and NUL characters.
    if nesting_depth(raw) > MAX_NESTING:
        raise MalformedBody(f"The request body is nested too deeply (more than {MAX_NESTING} levels).")
    try:
        operations = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError):
        raise MalformedBody("The request body is not valid JSON.") from None
    paths = nul_paths({"patch": operations})
    if paths:
        raise InvalidRequest("Some elements are missing or invalid.",
                             errors={path: [NUL_MESSAGE] for path in paths})
    return operations


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _change_task(ctx: Ctx, caller: Principal, id: str, body: Any) -> dict[str, Any]:
    change = task_change(body, ctx.request.mimetype)
    current = ctx.gateway.referrals.get(caller.as_caller(), id)
    status = change["status"]
    if status == current["status"]:
        return fhir_task(current)
    try:
        if status == "cancelled":
            view = ctx.gateway.referrals.cancel(caller.as_caller(), id, change["reason"],
                                                change["reason_code"])
        elif status in REPORTED_STATUSES:
            view = ctx.gateway.referrals.update_status(caller.as_caller(), id, status, change["reason"],
                                                       change["reason_code"])
        elif status in ("accepted", "rejected"):
            raise invalid("Task.status", "The peer group accepts or declines the network's proposal "
                                         "(POST /v1/matches/{id}/accept or decline); the Task follows.")
        else:
            raise invalid("Task.status", "Not a status a referral's Task takes.")
    except InvalidRequest as exc:
        raise rename_invalid(exc, _TASK_CHANGE_PATHS) from None
    return fhir_task(view)


def fhir_patch_task(ctx: Ctx, id: str) -> dict[str, Any]:
    caller = ctx.caller()
    return _change_task(ctx, caller, id, _patch_body(ctx))


def fhir_update_task(ctx: Ctx, id: str) -> dict[str, Any]:
    caller = ctx.caller()
    body = ctx.body()
    if body.get("resourceType") != "Task" or body.get("id") != id:
        raise invalid("Task.id", "PUT the Task with its id.")
    return _change_task(ctx, caller, id, body)


# -- participants and agencies -------------------------------------------------------------------

def fhir_read_patient(ctx: Ctx, id: str) -> dict[str, Any]:
    """The participant, to an agency that referred them or was assigned their referral."""
    caller = ctx.caller()
    found = _list(ctx, caller, {"participant_id": id, "limit": 1})["items"] if _uuid_like(id) else []
    if not found:
        raise NotFound("No such patient.")
    return patient_resource(id)


def _uuid_like(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def fhir_read_organization(ctx: Ctx, id: str) -> dict[str, Any]:
    caller = ctx.caller()
    full = caller.kind == OPERATOR
    with ctx.gateway.db as uow:
        row = directory.find_agency(uow.session, id)
        if row.status != "active" and not full:
            raise NotFound("No such agency.")
        view = directory.agency_view(row, full=full)
    return organization(view)


# -- subscriptions (R4 Backport rest-hooks, kept by the notifications service) -----------------

def fhir_create_subscription(ctx: Ctx) -> Response:
    caller = ctx.caller()
    body = subscription_request(ctx.body(), caller.agency_id)
    try:
        view = ctx.gateway.notifications.create_subscription(caller.as_caller(), body)
    except InvalidRequest as exc:
        raise rename_invalid(exc, SUBSCRIPTION_PATHS) from None
    resource = fhir_subscription(view)
    return fhir_response(resource, 201, Location=f"{ctx.base}/Subscription/{resource['id']}")


def fhir_read_subscription(ctx: Ctx, id: str) -> dict[str, Any]:
    return fhir_subscription(ctx.gateway.notifications.get_subscription(ctx.caller().as_caller(), id))


def fhir_search_subscription(ctx: Ctx) -> dict[str, Any]:
    caller = ctx.caller()
    args = ctx.args()
    unknown = sorted(set(args) - {"status"})
    if unknown:
        raise invalid(unknown[0], "Search subscriptions by status only.")
    status = (args.get("status") or [None])[-1]
    if status is not None and status not in SUBSCRIPTION_STATUSES:
        raise invalid("status", f"One of {', '.join(SUBSCRIPTION_STATUSES)}.")
    found = ctx.gateway.notifications.list_subscriptions(caller.as_caller(), status)
    return searchset(ctx.base, "Subscription", [fhir_subscription(v) for v in found], args, None)


def _turn_off(ctx: Ctx, id: str, body: Any, caller: Principal | None = None) -> dict[str, Any]:
    caller = caller or ctx.caller()
    current = ctx.gateway.notifications.get_subscription(caller.as_caller(), id)
    wanted = status_change(body)
    if wanted == current["status"]:
        return fhir_subscription(current)
    if wanted != "off":
        raise invalid("Subscription.status", "A subscription changes only by turning it off: status off.")
    return fhir_subscription(ctx.gateway.notifications.turn_off_subscription(caller.as_caller(), id))


def fhir_update_subscription(ctx: Ctx, id: str) -> dict[str, Any]:
    caller = ctx.caller()  # who asks is checked before what they sent
    body = ctx.body()
    if not isinstance(body, dict) or body.get("resourceType") != "Subscription" or body.get("id") != id:
        raise invalid("Subscription.id", "PUT the Subscription with its id.")
    return _turn_off(ctx, id, body, caller)


def fhir_patch_subscription(ctx: Ctx, id: str) -> dict[str, Any]:
    caller = ctx.caller()
    return _turn_off(ctx, id, _patch_body(ctx), caller)


def fhir_delete_subscription(ctx: Ctx, id: str) -> Response:
    ctx.gateway.notifications.delete_subscription(ctx.caller().as_caller(), id)
    return Response(status=204)


# -- the entrypoints -----------------------------------------------------------------------------

def _endpoint(route: FhirRoute) -> Callable[..., Any]:
    serve = globals()[route.operation]

    def endpoint(self, request: Request, **params: str) -> Any:
        return serve(Ctx(self, request, route), **params)

    endpoint.__name__ = endpoint.__qualname__ = route.operation
    endpoint.__doc__ = serve.__doc__
    return FhirEntrypoint.decorator(route.operation)(endpoint)


class FhirEndpoints:
    """Mixed into ``GatewayService`` (which provides ``_caller_with_roles``, ``db`` and the
    service clients): an entrypoint per FHIR route."""


for _route in FHIR_ROUTES:
    setattr(FhirEndpoints, _route.operation, _endpoint(_route))
del _route
