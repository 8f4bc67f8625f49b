"""Two replicas of every service on quorum queues, one broker: the journeys and capacity still hold.

The existing journeys run here again, unchanged, against a network whose services each run
twice (competing for the same queues and sharing one PostgreSQL database per service; only the
first replica runs timers) with ``QUEUE_TYPE=quorum``: the closed loop keeps its order, a
revocation mid-flight still cancels, and a burst with a killed matching replica still fills
exactly the mentors' capacity with no referral proposed twice.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from network.processes import Client
from services.kit import consumers, topology
from tests.e2e.test_e2e_resilience import (  # noqa: F401 - run again here, on replicas
    test_kill_9_of_matching_during_a_burst_loses_and_doubles_nothing,
)
from tests.e2e.test_e2e_story import (  # noqa: F401 - fixtures and journeys, run again here
    mentors,
    referrer_webhook,
    test_revocation_mid_flight_cancels_and_tells_the_peer_group,
    test_several_referrals_close_the_loop,
)
from tests.harness.journeys import grant_consent, referral_request, wait
from tests.harness.network import register_agencies, running_network

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SERVICES = ("consent", "referrals", "matching", "notifications")
# Thirteen processes share this machine's cores with the test: give each call the time it needs
# (inner deadlines shorter than outer ones), so a slow moment is not mistaken for an outage.
# Each process may hold twice its pool; thirteen pools of 3 (78 connections at most) leave room
# under PostgreSQL's default 100 for the test's own connections, where pools of 5 (130) did not.
SETTINGS = {"QUEUE_TYPE": "quorum", "CONSENT_RPC_TIMEOUT_SECONDS": "8", "RPC_TIMEOUT_SECONDS": "12",
            "GATEWAY_DEADLINE_SECONDS": "15", "DATABASE_POOL_SIZE": "3"}


@pytest.fixture(scope="module")
def network(request, rabbit_manager, postgres_databases, tmp_path_factory):
    # One database per service, shared by its replicas (they all read the same environment).
    with running_network(request.config.getoption("RABBIT_AMQP_URI"), rabbit_manager,
                         lambda _process: postgres_databases(),
                         tmp_path_factory.mktemp("replica-logs"), vhost_prefix="rn_replicas",
                         replicas=2, settings=SETTINGS) as net:
        yield net


@pytest.fixture(scope="module")
def operator(network) -> Client:
    return Client(network.base_url, network.create_operator())


@pytest.fixture(scope="module")
def agencies(network, operator) -> dict[str, Client]:
    return register_agencies(network, operator)


def test_every_service_runs_twice_on_quorum_queues_both_replicas_consuming(network, rabbit_manager, agencies):
    assert {f"{s}-2" for s in SERVICES} <= set(network.running)
    vhost = urlsplit(network.env["AMQP_URI"]).path[1:]

    def short_of_two_consumers() -> list[str]:
        queues = {q["name"]: q for q in rabbit_manager.get_queues(vhost)}
        names = [*consumers.subscriptions(), *(f"rpc-{s}" for s in SERVICES)]
        return [name for name in names if queues[name].get("consumers") != 2]

    # The management API's consumer counts trail by a few seconds.
    wait(lambda: not short_of_two_consumers(), "two consumers on every queue", timeout=30, interval=1)
    queues = {q["name"]: q for q in rabbit_manager.get_queues(vhost)}
    assert {queues[name]["type"] for name in consumers.subscriptions()} == {"quorum"}
    assert queues[topology.DEAD_LETTERS.name]["type"] == "quorum"


def test_a_retried_creation_is_answered_with_the_first_result_whichever_replica_serves_it(agencies):
    clinic = agencies["clinic"]
    consent = grant_consent(clinic, tag="Replicas")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = clinic.request("POST", "/v1/referrals", referral_request(consent), headers=key)
    answers = [clinic.request("POST", "/v1/referrals", referral_request(consent), headers=key)
               for _ in range(4)]
    assert first.status_code == 201, first.text
    assert {a.json()["id"] for a in answers} == {first.json()["id"]}
    assert all(a.headers.get("Idempotent-Replayed") == "true" for a in answers)
