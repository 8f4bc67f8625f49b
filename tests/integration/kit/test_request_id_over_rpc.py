"""The gateway's request id reaches the service that failed, through the RPC context, so the two
log lines of one failure (gateway and service) carry the same id as the client's problem body."""

from __future__ import annotations

import logging

import pytest
import requests
from nameko.rpc import rpc

from gateway.entrypoint import REQUEST_ID_HEADER, api
from network.processes import free_port
from services.kit.errors import NotFound
from services.kit.logs import install_worker_error_filter
from services.kit.rpc import ServiceClient


class Referrals:
    name = "referrals"

    @rpc
    def get(self, caller, referral_id):
        raise NotFound("No such referral.")

    @rpc
    def list(self, caller, status, page):
        return {"items": []}["next"]  # a bug: KeyError


class Gateway:
    name = "gateway"
    referrals = ServiceClient("referrals")

    @api("get_referral")
    def get_referral(self, request, id):
        return self.referrals.get({}, id)

    @api("list_referrals")
    def list_referrals(self, request):
        return self.referrals.list({}, None, None)


@pytest.fixture
def base_url(container_factory, rabbit_config):
    install_worker_error_filter()  # as each config.yml's LOGGING section does
    address = f"127.0.0.1:{free_port()}"
    container_factory(Referrals, rabbit_config).start()
    container_factory(Gateway, {**rabbit_config, "WEB_SERVER_ADDRESS": address}).start()
    return f"http://{address}"


def lines(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno >= logging.INFO]


def test_a_404_from_a_service_is_one_info_line_there_and_one_here_with_the_same_id(base_url, caplog):
    with caplog.at_level(logging.INFO):
        response = requests.get(f"{base_url}/v1/referrals/r-1", headers={REQUEST_ID_HEADER: "req-404"},
                                timeout=30)
    assert response.status_code == 404 and response.json()["request_id"] == "req-404"
    [service] = lines(caplog, "nameko.containers")
    assert service.getMessage() == "referrals.get answered NotFound (request req-404)"
    [gateway] = lines(caplog, "gateway.problems")
    assert gateway.levelno == logging.INFO and "request req-404 answered 404" in gateway.getMessage()
    assert not [r for r in caplog.records if r.exc_info]


def test_a_fault_in_a_service_logs_its_traceback_there_under_the_clients_request_id(base_url, caplog):
    with caplog.at_level(logging.INFO):
        response = requests.get(f"{base_url}/v1/referrals", timeout=30)
    assert response.status_code == 500
    request_id = response.json()["request_id"]
    assert request_id == response.headers[REQUEST_ID_HEADER]
    [service] = lines(caplog, "nameko.containers")
    assert service.levelno == logging.ERROR and service.exc_info
    assert service.getMessage() == f"referrals.list failed: KeyError (request {request_id})"
    [gateway] = lines(caplog, "gateway.problems")
    assert f"request {request_id} failed: RemoteError (KeyError)" == gateway.getMessage()
    assert [r for r in caplog.records if r.exc_info] == [service]
