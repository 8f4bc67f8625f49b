"""The OpenAPI 3 document of API v1, generated from the schemas that validate requests.

Every route in ``gateway.routes`` appears with its method, bearer authentication (or none), the
roles allowed by ``gateway.policy``, its body, query and path parameters, its success response
and its ``application/problem+json`` errors.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway import policy
from gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from gateway.idempotency import REPLAY_HEADER
from gateway.problems import PROBLEM_CONTENT_TYPE
from gateway.routes import ROUTES, Route
from gateway.schemas import ProblemSchema

TITLE = "Recovery Referral Network API"
VERSION = "1.0.0"
OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEME = "apiKey"
IDEMPOTENCY_PARAMETER = "IdempotencyKey"

# Problem responses by status: (component name, description).
# Errors a page answers as a page (the participant's questionnaire).
PAGE_ERRORS = {404: "The link is unknown, already used or expired.",
               422: "The form again, its unanswered statements marked."}
PROBLEM_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The body is not a JSON object, or not sent as application/json "
                        "(code invalid_request); a creating POST without an Idempotency-Key "
                        "(code idempotency_key_required)."),
    401: ("Unauthorized", "No valid API key or session (code unauthorized), or a sign-in that "
                          "does not check out (code sign_in_refused)."),
    403: ("Forbidden", "The agency's roles do not allow this (code forbidden), or no valid "
                       "consent covers it (code consent_required)."),
    404: ("NotFound", "No such object, or one of another agency (code not_found)."),
    409: ("Conflict", "The object's state does not allow this, or the Idempotency-Key was used "
                      "for another request (code conflict); an attempt with the same key is still "
                      "running (code idempotency_key_in_flight, with Retry-After)."),
    413: ("PayloadTooLarge", "The body is too large (code payload_too_large)."),
    422: ("UnprocessableContent", "Missing or invalid fields, query parameters, path ids or "
                                  "headers, listed in errors (code invalid_request)."),
    429: ("RateLimited", "The agency's rate limit is spent; retry after Retry-After seconds "
          "(code rate_limited)."),
    500: ("InternalError", "An unexpected error; no details are given (code internal)."),
    503: ("ServiceUnavailable", "A service needed for this is not answering "
                                "(code service_unavailable)."),
}


# OpenAPI links: what a success answer lets a client call next, and where the id comes from.
_BY_ID = "$response.body#/id"
_FIRST_ITEM = "$response.body#/items/0/id"
LINKS: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "grant_consent": {"GetConsent": ("get_consent", {"id": _BY_ID}),
                      "RevokeConsent": ("revoke_consent", {"id": _BY_ID}),
                      "ListDisclosures": ("list_disclosures", {"id": "$response.body#/participant_id"})},
    "create_referral": {"GetReferral": ("get_referral", {"id": _BY_ID}),
                        "CancelReferral": ("cancel_referral", {"id": _BY_ID}),
                        "ReportReferralStatus": ("report_referral_status", {"id": _BY_ID}),
                        "GetHandoff": ("get_handoff", {"id": _BY_ID})},
    "list_referrals": {"GetFirstReferral": ("get_referral", {"id": _FIRST_ITEM})},
    "create_mentor": {"UpdateMentor": ("update_mentor", {"id": _BY_ID})},
    "list_mentors": {"UpdateFirstMentor": ("update_mentor", {"id": _FIRST_ITEM})},
    "list_matches": {"AcceptFirstMatch": ("accept_match", {"id": _FIRST_ITEM}),
                     "DeclineFirstMatch": ("decline_match", {"id": _FIRST_ITEM})},
}


def _links(route: Route) -> dict[str, Any]:
    return {name: {"operationId": target, "parameters": parameters}
            for name, (target, parameters) in LINKS.get(route.operation, {}).items()}


def _error_statuses(route: Route) -> list[int]:
    statuses = [500, 503]
    if not policy.is_public(route.operation):
        statuses += [401, 403, 429]  # 429: the agency's rate limit (gateway/limits.py)
    if route.checks_credentials:
        statuses.append(401)
    if route.path_params:
        # The owning service checks an id's shape (422) before looking it up (404).
        statuses += [404, 422]
    if route.request:
        statuses += [400, 413, 422]
    if route.query or route.creates:
        statuses.append(422)
    if route.creates:
        statuses.append(400)
    if route.conflicts or route.creates:
        statuses.append(409)
    statuses += route.problems
    return sorted(set(statuses) - {status for status, _ in route.other_responses} - set(route.page_errors))


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(route: Route) -> dict[str, Any]:
    roles = sorted(policy.ROUTE_ROLES[route.operation])
    success: dict[str, Any] = {"description": route.summary}
    if route.media_type == "application/json" and route.status != 204:
        success["content"] = _json(route.response if route.response else {"type": "object"})
    elif route.status != 204:  # text: a PEM file, or JSON lines each shaped as the response schema
        success["content"] = {route.media_type: {"schema": {"type": "string"}}}
        if route.response:
            success["description"] += f" (each line: {_line_schema_name(route)})"
            success["content"][route.media_type]["schema"]["x-line-schema"] = {
                "$ref": f"#/components/schemas/{_line_schema_name(route)}"}
    for media_type in route.alternatives:
        success.setdefault("content", {})[media_type] = {"schema": {"type": "string"}}
    op: dict[str, Any] = {
        "operationId": route.operation,
        "summary": route.summary,
        "tags": [route.tag],
        "description": f"Roles: {', '.join(roles)}." if roles else "No API key needed.",
        "parameters": [{"name": name, "in": "path", "required": True,
                        "schema": {"type": "string"}} for name in route.path_params],
        "responses": {str(route.status): success},
    }
    if policy.is_public(route.operation):
        op["security"] = []
    if route.query:
        op["parameters"].append({"in": "query", "schema": route.query})
    if route.operation in LINKS:
        success["links"] = _links(route)
    if route.creates:
        op["parameters"].append(IDEMPOTENCY_PARAMETER)
        success["headers"] = {REPLAY_HEADER: {
            "description": "true when the object was created by an earlier request with this key",
            "schema": {"type": "string", "enum": ["true"]}}}
    if route.request:
        op["requestBody"] = {"required": True,
                             "content": {route.request_media_type: {"schema": route.request}}}
    for status, schema in route.other_responses:
        op["responses"][str(status)] = {"description": route.summary, "content": _json(schema)}
    for status in _error_statuses(route):
        op["responses"][str(status)] = PROBLEM_RESPONSES[status][0]  # a component reference
    for status in route.page_errors:
        op["responses"][str(status)] = {"description": PAGE_ERRORS[status],
                                        "content": {route.media_type: {"schema": {"type": "string"}}}}
    if not op["parameters"]:
        del op["parameters"]
    return op


def _line_schema_name(route: Route) -> str:
    return route.response.__name__.removesuffix("Schema")


def _build() -> APISpec:
    spec = APISpec(title=TITLE, version=VERSION, openapi_version=OPENAPI_VERSION,
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Consented referrals from treatment to peer recovery "
                                        "support. Errors are RFC 9457 problem details."},
                   security=[{SECURITY_SCHEME: []}])
    spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "http", "scheme": "bearer", "bearerFormat": "rn_<key id>_<secret>",
        "description": "The agency's API key, issued once by POST /v1/agencies, a person's "
                       "session token (rs_<id>_<secret>), issued by POST /v1/sessions, or a SMART "
                       "back-end client's access token (st_<id>_<secret>), issued by "
                       "POST /fhir/auth/token."})
    spec.components.schema("Problem", schema=ProblemSchema)
    for name, description in PROBLEM_RESPONSES.values():
        spec.components.response(name, {"description": description, "content": {
            PROBLEM_CONTENT_TYPE: {"schema": "Problem"}}})
    spec.components.parameter(IDEMPOTENCY_PARAMETER, "header", {
        "name": IDEMPOTENCY_HEADER, "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": "Required on every creating POST. Retrying with the same key and body "
                       "answers the object the first request created (never a second one); the "
                       "same key with another body answers 409."})
    for route in ROUTES:  # schemas of each line of a text answer, referenced by x-line-schema
        if route.media_type != "application/json" and route.response is not None:
            spec.components.schema(_line_schema_name(route), schema=route.response)
    by_path: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        by_path.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec


def _with_partial_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """A partial request schema (a PATCH) requires none of its own fields, as marshmallow loads it.

    Nested objects keep their rules: a location is still ``lat`` and ``lon`` together
    (``services.kit.vocabulary.PointSchema`` checks that even in a partial load).
    """
    schemas = document["components"]["schemas"]
    for route in ROUTES:
        if route.request is not None and route.request().partial is True:
            schemas[route.request.__name__.removesuffix("Schema")].pop("required", None)
    return document


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 document as a dict (a fresh copy each call)."""
    return json.loads(openapi_json())


@lru_cache(maxsize=1)
def openapi_json() -> str:
    """The OpenAPI 3 document as JSON text, built once per process for ``GET /openapi.json``."""
    return json.dumps(_with_partial_bodies(_build().to_dict()))
