"""The gateway on its own: agencies and keys, problem+json for every failure, idempotency,
OpenAPI, health and readiness. Services are not running here, which is itself a case: 503."""

from __future__ import annotations

import json
import logging
import time

import pytest

from gateway.routes import ROUTES
from tests.integration.stored import raw_database_text

PROBLEM = "application/problem+json"
HOSPITAL = {"name": "St. Mary Hospital", "kind": "hospital", "roles": ["referrer"]}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    return body


def test_the_operator_creates_an_agency_whose_key_works_once_shown(gateway, admin_key, ledger_service):
    created = gateway.create("/v1/agencies", admin_key, json=HOSPITAL)
    assert created.status_code == 201, created.text
    agency = created.json()
    assert agency["kind"] == "hospital" and agency["roles"] == ["referrer"]
    assert agency["api_key"].startswith("rn_")
    # The new key authenticates; as a referrer it may not create agencies.
    assert_problem(gateway.create("/v1/agencies", agency["api_key"], json=HOSPITAL), 403, "forbidden")


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer rn_nothex_x", "Bearer a b"])
def test_missing_or_malformed_credentials_are_401(gateway, header):
    headers = {"Authorization": header} if header else {}
    body = assert_problem(gateway.call("GET", "/v1/referrals", headers=headers), 401, "unauthorized")
    assert "rn_" not in body["detail"]


def test_wrong_key_and_unknown_key_get_the_same_answer(gateway, admin_key):
    key_id = admin_key.split("_")[1]
    wrong_secret = f"rn_{key_id}_{'x' * 43}"
    unknown = f"rn_{'0' * 16}_{'x' * 43}"
    first = assert_problem(gateway.call("GET", "/v1/audit/verify", wrong_secret), 401, "unauthorized")
    second = assert_problem(gateway.call("GET", "/v1/audit/verify", unknown), 401, "unauthorized")
    assert first.pop("request_id") != second.pop("request_id")  # each request has its own id
    assert first == second


def test_bad_bodies_are_clear_problems_and_create_nothing(gateway, admin_key):
    post = lambda **kw: gateway.create("/v1/agencies", admin_key, **kw)  # noqa: E731
    assert_problem(post(data=b"{not json", headers={"Content-Type": "application/json"}),
                   400, "invalid_request")
    assert_problem(post(data=b"[1, 2]", headers={"Content-Type": "application/json"}),
                   400, "invalid_request")
    too_big = {"name": "x" * (70 * 1024), "kind": "hospital", "roles": ["referrer"]}
    assert_problem(post(json=too_big), 413, "payload_too_large")
    missing = assert_problem(post(json={"kind": "spaceport", "roles": "admin"}), 422, "invalid_request")
    assert set(missing["errors"]) == {"name", "kind", "roles"}
    unfit = assert_problem(post(json={**HOSPITAL, "roles": ["coordinator"]}), 422, "invalid_request")
    assert "roles" in unfit["errors"]
    extra = assert_problem(post(json={**HOSPITAL, "surprise": 1}), 422, "invalid_request")
    assert "surprise" in extra["errors"]


def test_idempotency_key_replays_the_agency_without_its_key_and_refuses_another_body(
        gateway, admin_key, gateway_config, ledger_service):
    headers = {"Idempotency-Key": "create-st-mary-1"}
    first = gateway.call("POST", "/v1/agencies", admin_key, json=HOSPITAL, headers=headers)
    again = gateway.call("POST", "/v1/agencies", admin_key, json=HOSPITAL, headers=headers)
    assert first.status_code == again.status_code == 201
    shown_once = first.json().pop("api_key")
    assert again.json() == {k: v for k, v in first.json().items() if k != "api_key"}
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert shown_once not in raw_database_text(gateway_config["DATABASE_URL"])  # only its digest is kept
    other = gateway.call("POST", "/v1/agencies", admin_key, json={**HOSPITAL, "name": "Other"},
                         headers=headers)
    assert_problem(other, 409, "conflict")
    # A failed first attempt does not burn the key.
    bad = gateway.call("POST", "/v1/agencies", admin_key, json={"name": "x"},
                       headers={"Idempotency-Key": "retry-after-fix"})
    assert_problem(bad, 422, "invalid_request")
    fixed = gateway.call("POST", "/v1/agencies", admin_key, json=HOSPITAL,
                         headers={"Idempotency-Key": "retry-after-fix"})
    assert fixed.status_code == 201


def test_a_creating_post_without_a_key_is_refused_naming_the_header(gateway, admin_key):
    problem = assert_problem(gateway.call("POST", "/v1/agencies", admin_key, json=HOSPITAL),
                             400, "idempotency_key_required")
    assert "Idempotency-Key" in problem["detail"]


def test_unknown_paths_and_methods_answer_problem_json(gateway):
    assert_problem(gateway.call("GET", "/v1/nowhere"), 404, "not_found")
    assert_problem(gateway.call("DELETE", "/v1/referrals"), 405, "method_not_allowed")


def test_a_route_whose_service_is_down_answers_503_within_the_timeout(gateway, admin_key):
    started = time.monotonic()
    response = gateway.call("GET", "/v1/audit/ledger", admin_key)
    elapsed = time.monotonic() - started
    assert_problem(response, 503, "service_unavailable")
    assert elapsed < 10  # the configured RPC timeout is 2 s: no hanging request


def test_health_is_up_and_ready_names_the_services_that_do_not_answer(gateway):
    assert gateway.call("GET", "/health").json() == {"status": "ok"}
    ready = gateway.call("GET", "/ready")
    assert ready.status_code == 503
    unanswered = {"broker": "unavailable", "database": "unknown"}
    assert ready.json() == {"services": {s: unanswered for s in
                                         ("consent", "referrals", "matching", "notifications",
                                          "engagement", "outcomes")},
                            "gateway": {"database": "ok"}}


def test_openapi_document_lists_every_route_of_the_contract(gateway):
    document = gateway.call("GET", "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for route in ROUTES:
        assert route.method.lower() in document["paths"][route.path], route.path
    schema = json.dumps(document["components"]["schemas"])
    assert "ConsentCreateRequest" in schema or "ConsentCreate" in schema


@pytest.mark.parametrize("body", [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000])
def test_a_body_nested_too_deeply_is_a_400_not_a_crash(gateway, admin_key, body):
    response = gateway.call("POST", "/v1/agencies", admin_key, data=body,
                            headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 400, "invalid_request")
    assert "nested too deeply" in problem["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_access_log_names_the_path_but_never_the_query_string(gateway, admin_key, caplog):
    canary = "canary.participant@example.org"
    with caplog.at_level(logging.INFO, logger="nameko.web.server"):
        gateway.call("GET", f"/v1/audit/ledger?participant={canary}&since=x", admin_key)
        gateway.call("GET", f"/v1/nowhere?token={canary}")
    access = [r.getMessage() for r in caplog.records if r.name == "nameko.web.server"]
    assert any('"GET /v1/audit/ledger HTTP/1.1" 422' in line for line in access), access
    assert any('"GET /v1/nowhere HTTP/1.1" 404' in line for line in access), access
    assert not [line for line in access if "canary" in line or "?" in line]
