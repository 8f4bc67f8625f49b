"""The OpenAPI document lists every docs/api.md route, with auth, bodies and problem responses."""

from __future__ import annotations

import json
import re

import pytest

from gateway import policy
from gateway.openapi import openapi_document
from gateway.routes import ROUTES, ROUTES_BY_OPERATION

# Written out from docs/api.md, independently of gateway.routes.
API_ROUTES = {
    ("post", "/v1/agencies"), ("post", "/v1/consents"), ("get", "/v1/consents/{id}"),
    ("post", "/v1/consents/{id}/revoke"), ("post", "/v1/consents/{id}/attestations"),
    ("post", "/v1/consents/{id}/end-of-treatment"), ("post", "/v1/referrals"), ("get", "/v1/referrals"),
    ("get", "/v1/referrals/{id}"), ("post", "/v1/referrals/{id}/cancel"),
    ("post", "/v1/referrals/{id}/status"), ("get", "/v1/referrals/{id}/handoff"),
    ("post", "/v1/mentors"), ("get", "/v1/mentors"), ("patch", "/v1/mentors/{id}"),
    ("get", "/v1/matches"), ("post", "/v1/matches/{id}/accept"),
    ("post", "/v1/matches/{id}/decline"), ("put", "/v1/notification-settings"),
    ("get", "/v1/notification-settings"), ("post", "/v1/notification-settings/test"),
    ("get", "/v1/notifications"), ("get", "/v1/participants/{id}/disclosures"),
    ("get", "/v1/audit/ledger"), ("get", "/v1/audit/verify"), ("get", "/v1/audit/ledger/export"),
    ("post", "/v1/audit/verifications"), ("get", "/v1/audit/verifications/{id}"),
    ("get", "/v1/audit/public-key"),
    ("get", "/v1/agencies"), ("post", "/v1/agencies/{id}/deactivate"),
    ("post", "/v1/agencies/{id}/reactivate"), ("get", "/v1/agencies/{id}/keys"),
    ("post", "/v1/agencies/{id}/keys"), ("post", "/v1/agencies/{id}/keys/{key_id}/rotate"),
    ("post", "/v1/agencies/{id}/keys/{key_id}/revoke"), ("get", "/v1/dead-letters"),
    ("post", "/v1/dead-letters/{id}/replay"),
    ("get", "/health"), ("get", "/ready"), ("get", "/openapi.json"),
    ("post", "/v1/agencies/{id}/people"), ("get", "/v1/agencies/{id}/people"),
    ("patch", "/v1/agencies/{id}/people/{person_id}"),
    ("post", "/v1/agencies/{id}/people/{person_id}/invitation"), ("post", "/v1/sessions/accept-invitation"),
    ("post", "/v1/sessions/totp"), ("post", "/v1/sessions"), ("get", "/v1/sessions/current"),
    ("delete", "/v1/sessions/current"),
    ("get", "/v1/agencies/{id}/smart-clients"), ("post", "/v1/agencies/{id}/smart-clients"),
    ("post", "/v1/agencies/{id}/smart-clients/{client_id}/revoke"), ("post", "/fhir/auth/token"),
    ("post", "/v1/referrals/{id}/contacts"), ("get", "/v1/referrals/{id}/engagement"),
    ("post", "/v1/referrals/{id}/check-ins"), ("put", "/v1/engagement-settings"),
    ("get", "/v1/engagement-settings"), ("post", "/v1/crises/{id}/acknowledge"),
    ("post", "/v1/sms/inbound"), ("get", "/v1/assessment"), ("post", "/v1/assessment"),
    ("get", "/v1/check-in"), ("post", "/v1/check-in"), ("get", "/v1/check-in/stop"),
    ("post", "/v1/check-in/stop"),
    ("get", "/v1/reports/outcomes"),
}
CREATING = {("post", "/v1/agencies"), ("post", "/v1/consents"), ("post", "/v1/referrals"),
            ("post", "/v1/mentors"), ("post", "/v1/referrals/{id}/contacts")}
PUBLIC = {("get", "/health"), ("get", "/ready"), ("get", "/openapi.json"),
          ("get", "/v1/audit/public-key"),
          # The SMS provider's signed webhook, and a participant's questionnaire behind its link.
          ("post", "/v1/sms/inbound"), ("get", "/v1/assessment"), ("post", "/v1/assessment"),
          # A check-in email's form and its one-click stop, behind their links.
          ("get", "/v1/check-in"), ("post", "/v1/check-in"), ("get", "/v1/check-in/stop"),
          ("post", "/v1/check-in/stop")}
# Public too, but they check a person's (or a SMART client's) credentials themselves, so they may
# answer 401.
SIGN_IN = {("post", "/v1/sessions/accept-invitation"), ("post", "/v1/sessions/totp"),
           ("post", "/v1/sessions"), ("post", "/fhir/auth/token")}


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi_document()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, op in item.items():
            yield method, path, op


def test_every_api_route_is_documented_and_nothing_else(document):
    assert {(method, path) for method, path, _ in operations(document)} == API_ROUTES


def test_the_document_has_the_openapi_3_skeleton(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "rn_<key id>_<secret>",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"]}
    assert document["security"] == [{"apiKey": []}]
    json.dumps(document)


def test_operation_ids_are_unique_and_match_the_policy(document):
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids)) == len(ROUTES)
    assert set(ids) == set(policy.ROUTE_ROLES)


def test_only_operations_and_sign_in_routes_skip_authentication(document):
    for method, path, op in operations(document):
        public = (method, path) in PUBLIC
        assert (op.get("security") == []) is (public or (method, path) in SIGN_IN), path
        assert ("401" not in op["responses"]) is public, path


def test_every_reference_resolves(document):
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = document
        for part in ref.split("/"):
            node = node[part]


def test_errors_are_problem_details(document):
    responses = document["components"]["responses"]
    for name in ("Unauthorized", "Forbidden", "NotFound", "Conflict", "UnprocessableContent",
                 "PayloadTooLarge", "ServiceUnavailable", "InternalError", "BadRequest"):
        assert responses[name]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"}
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(problem["properties"])


def test_each_operation_documents_its_body_success_and_failures(document):
    for method, path, op in operations(document):
        route = ROUTES_BY_OPERATION[op["operationId"]]
        assert (route.method.lower(), route.path) == (method, path)
        assert str(route.status) in op["responses"]
        assert {"500", "503"} <= set(op["responses"])
        if route.request:
            schema = op["requestBody"]["content"][route.request_media_type]["schema"]["$ref"]
            assert schema.startswith("#/components/schemas/")
            assert {"400", "413", "422"} <= set(op["responses"])
        if "{id}" in path:
            assert "404" in op["responses"]
            assert {"name": "id", "in": "path", "required": True,
                    "schema": {"type": "string"}} in op["parameters"]


def test_creating_routes_take_an_idempotency_key(document):
    for method, path, op in operations(document):
        refs = [p.get("$ref") for p in op.get("parameters", [])]
        assert ("#/components/parameters/IdempotencyKey" in refs) is ((method, path) in CREATING)
    assert document["components"]["parameters"]["IdempotencyKey"]["in"] == "header"


def test_request_schemas_are_strict_and_enums_come_from_the_vocabulary(document):
    schemas = document["components"]["schemas"]
    assert schemas["ReferralCreateRequest"]["additionalProperties"] is False
    assert set(schemas["ReferralCreateRequest"]["required"]) >= {"participant_id", "consent_id",
                                                                 "reason", "needs"}
    status = schemas["ReferralStatusRequest"]["properties"]["status"]["enum"]
    assert status == ["in-progress", "on-hold", "completed", "failed"]
    assert "required" not in schemas["MentorPatchRequest"]


def test_list_routes_document_their_query_parameters(document):
    params = document["paths"]["/v1/referrals"]["get"]["parameters"]
    assert {(p["name"], p["in"]) for p in params} == {
        (name, "query") for name in ("status", "page", "external_id", "external_id_system",
                                     "participant_id", "referrer_agency_id", "assigned_agency_id",
                                     "created_after", "created_before", "updated_after",
                                     "updated_before", "limit")}


def test_werkzeug_rules_follow_the_templates():
    assert ROUTES_BY_OPERATION["get_handoff"].url_rule == "/v1/referrals/<string:id>/handoff"
    assert ROUTES_BY_OPERATION["list_referrals"].url_rule == "/v1/referrals"


def test_links_name_real_operations_and_their_path_parameters(document):
    by_id = {op["operationId"]: op for _, _, op in operations(document)}
    linked = 0
    for _, _, op in operations(document):
        for status, response in op["responses"].items():
            for link in response.get("links", {}).values():
                assert status.startswith("2")
                target = by_id[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", []) if p.get("in") == "path"}
                assert set(link["parameters"]) == names
                assert all(value.startswith("$response.body#/") for value in link["parameters"].values())
                linked += 1
    assert linked >= 10
    assert by_id["create_referral"]["responses"]["201"]["links"]["GetReferral"] == {
        "operationId": "get_referral", "parameters": {"id": "$response.body#/id"}}


def test_a_patch_body_requires_none_of_its_fields_but_a_location_is_still_lat_and_lon(document):
    patch = document["components"]["schemas"]["MentorPatchRequest"]
    assert "required" not in patch
    assert patch["properties"]["location"] == {"$ref": "#/components/schemas/Point"}
    assert document["components"]["schemas"]["Point"]["required"] == ["lat", "lon"]
    assert document["components"]["schemas"]["MentorCreateRequest"]["required"]


def test_routes_with_an_id_document_the_422_for_a_malformed_one(document):
    for _, path, op in operations(document):
        if "{id}" in path:
            assert {"404", "422"} <= set(op["responses"]), path


def test_the_token_endpoint_takes_a_form_and_answers_oauth_errors(document):
    op = document["paths"]["/fhir/auth/token"]["post"]
    assert list(op["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]
    form = document["components"]["schemas"]["TokenRequestForm"]
    assert set(form["required"]) == {"grant_type", "client_assertion_type", "client_assertion", "scope"}
    for status in ("400", "401"):
        assert op["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/OAuthError"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AccessToken"}
