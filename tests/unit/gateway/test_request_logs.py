"""What the gateway logs for an answered problem: one INFO line for a client error, one traceback
with the request id for a fault, and the same request id in the problem body and header."""

from __future__ import annotations

import logging

import pytest
import requests

from gateway.entrypoint import REQUEST_ID_HEADER, api
from network.processes import free_port
from services.kit.errors import NotFound
from services.kit.logs import install_worker_error_filter


class FailingGateway:
    name = "failing_gateway"

    @api("get_referral")
    def get_referral(self, request, id):
        raise NotFound("No such referral.")

    @api("health")
    def health(self, request):
        return {"status": None}["missing"]  # a bug: KeyError


@pytest.fixture
def base_url(container_factory):
    install_worker_error_filter()  # as the LOGGING section of gateway/config.yml does
    address = f"127.0.0.1:{free_port()}"
    container_factory(FailingGateway, {"WEB_SERVER_ADDRESS": address}).start()
    return f"http://{address}"


def about_the_failure(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """Records at INFO or above, less the web server's access line (one per request, error or not)."""
    return [r for r in records if r.levelno >= logging.INFO and r.name != "nameko.web.server"]


def with_traceback(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.exc_info]


def test_a_404_is_one_info_line_without_a_traceback(base_url, caplog):
    with caplog.at_level(logging.DEBUG):
        response = requests.get(f"{base_url}/v1/referrals/r-1", timeout=10)
    assert response.status_code == 404
    request_id = response.headers[REQUEST_ID_HEADER]
    assert response.json()["request_id"] == request_id
    answered = about_the_failure(caplog.records)
    assert len(answered) == 1, [r.getMessage() for r in answered]
    assert answered[0].levelno == logging.INFO and not answered[0].exc_info
    assert f"request {request_id} answered 404 not_found" in answered[0].getMessage()
    assert not with_traceback(caplog.records)


def test_an_unknown_path_is_one_info_line_with_a_request_id(base_url, caplog):
    with caplog.at_level(logging.INFO):
        response = requests.get(f"{base_url}/v1/nowhere", timeout=10)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    [answered] = about_the_failure(caplog.records)
    assert answered.levelno == logging.INFO and not answered.exc_info
    assert response.headers[REQUEST_ID_HEADER] in answered.getMessage()


def test_a_fault_logs_one_traceback_naming_the_request_id_the_client_sees(base_url, caplog):
    with caplog.at_level(logging.INFO):
        response = requests.get(f"{base_url}/health", timeout=10)
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal" and body["request_id"] == response.headers[REQUEST_ID_HEADER]
    tracebacks = with_traceback(caplog.records)
    assert len(tracebacks) == 1, [r.getMessage() for r in caplog.records]
    assert len(about_the_failure(caplog.records)) == 1
    assert tracebacks[0].levelno == logging.ERROR
    assert f"request {body['request_id']} failed: KeyError" in tracebacks[0].getMessage()
    assert "missing" not in body["detail"]


@pytest.mark.parametrize(("offered", "kept"), [
    ("trace-7f3a.b_2:9", True),
    ("not ok<script>", False),
    ("x" * 200, False),
])
def test_a_well_formed_incoming_request_id_is_kept_and_any_other_replaced(base_url, offered, kept):
    response = requests.get(f"{base_url}/v1/referrals/r-1", headers={REQUEST_ID_HEADER: offered}, timeout=10)
    assert (response.headers[REQUEST_ID_HEADER] == offered) is kept
    assert response.json()["request_id"] == response.headers[REQUEST_ID_HEADER]
