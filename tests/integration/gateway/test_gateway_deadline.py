"""Whatever a request waits on, the gateway answers it within its deadline: 503, then retry."""

from __future__ import annotations

import time

import pytest
from kombu import Connection, Exchange, Queue

from tests.integration.gateway.agencies import insert_agency
from tests.integration.gateway.test_gateway_front_door import assert_problem


@pytest.fixture
def gateway_config(gateway_config):
    # An RPC here would wait its full 5 s for an answer; the deadline is shorter.
    return {**gateway_config, "RPC_TIMEOUT_SECONDS": 5, "GATEWAY_DEADLINE_SECONDS": 1}


@pytest.fixture
def silent_referrals(rabbit_config):
    """referrals' RPC queue exists (requests are accepted) but nothing consumes it."""
    rpc = Exchange("nameko-rpc", type="topic", durable=True)
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        Queue("rpc-referrals", exchange=rpc, routing_key="referrals.*", durable=True)(
            conn.default_channel).declare()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_request_past_the_gateway_deadline_is_answered_503_with_retry_after(
        silent_referrals, gateway, gateway_config):
    _, referrer_key = insert_agency(gateway_config, "Lakeside Clinic", "clinic", ["referrer"])
    started = time.monotonic()
    response = gateway.call("GET", "/v1/referrals", referrer_key)
    took = time.monotonic() - started
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"]
    assert took < 1 + 1, f"answered after {took:.1f} s, not at the 1 s deadline"
