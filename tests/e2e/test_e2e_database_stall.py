"""A database stalls for longer than the gateway's deadline: every request is answered within the
deadline, readiness names the database, and afterwards nothing accepted is lost or doubled.

On PostgreSQL every backend of the database is stopped with SIGSTOP (and each new one too) until
SIGCONT; on SQLite an outside connection holds an exclusive lock on the file. Either way the
stalled database is a service's (referrals) or the gateway's own.
"""

from __future__ import annotations

import time
import uuid
from contextlib import AbstractContextManager

import eventlet
import pytest

from network.processes import Client, Network
from tests.e2e.test_e2e_resilience import live_proposals
from tests.harness.checker import KeyedCreations, create_until_answered
from tests.harness.journeys import grant_consent, mentor, referral, referral_request, wait
from tests.harness.network import register_agencies, running_network
from tests.harness.stall import locked_sqlite, stalled_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.fault]
DEADLINE = 10.0  # GATEWAY_DEADLINE_SECONDS's default, which the test networks keep
STALL_SECONDS = DEADLINE + 2
Answer = tuple[int, float, "str | None"]


@pytest.fixture(scope="module")
def sqlite_network(request, rabbit_manager, tmp_path_factory):
    data = tmp_path_factory.mktemp("sqlite-stall")
    with running_network(request.config.getoption("RABBIT_AMQP_URI"), rabbit_manager,
                         lambda process: f"sqlite:///{data / f'{process}.db'}", data,
                         vhost_prefix="rn_sqlite_stall") as net:
        yield net


@pytest.fixture(scope="module")
def sqlite_agencies(sqlite_network) -> dict[str, Client]:
    operator = Client(sqlite_network.base_url, sqlite_network.create_operator())
    return register_agencies(sqlite_network, operator)


@pytest.mark.parametrize("stalled_process", ["referrals", "gateway"])
def test_stopped_postgres_backends_answer_every_request_in_time_and_lose_nothing(
        request, network, agencies, stalled_process):
    url = network.env[f"{stalled_process.upper()}_DATABASE_URL"]
    stall = stalled_postgres(request.config.getoption("--postgres-url"), url)
    exercise_a_stall(network, agencies, stall, stalled_process, language="it")


@pytest.mark.parametrize("stalled_process", ["referrals", "gateway"])
def test_a_locked_sqlite_file_answers_every_request_in_time_and_loses_nothing(
        sqlite_network, sqlite_agencies, stalled_process):
    stall = locked_sqlite(sqlite_network.env[f"{stalled_process.upper()}_DATABASE_URL"])
    # SQLite reads go on under a writer's lock: only what writes (creating) meets it.
    exercise_a_stall(sqlite_network, sqlite_agencies, stall, stalled_process, language="pt",
                     reads_stall=False)


def exercise_a_stall(network: Network, agencies: dict[str, Client], stall: AbstractContextManager,
                     stalled_process: str, *, language: str, reads_stall: bool = True) -> None:
    clinic, peers = agencies["clinic"], [agencies["peers_a"], agencies["peers_b"]]
    for n in range(2):
        peers[n].ok("POST", "/v1/mentors", mentor(800 + n, languages=(language,), capacity=50))
    consent = grant_consent(clinic, tag=f"Stall{stalled_process.title()}")
    body = referral_request(consent, languages=(language,))
    key = str(uuid.uuid4())
    # Before the stall; a loaded machine may still answer 503, which the client retries.
    before_id = create_until_answered(
        lambda: clinic.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": key}), key,
        KeyedCreations())
    assert before_id, "the referral before the stall was refused"

    def timed(method: str, path: str, payload=None) -> Answer:
        started = time.monotonic()
        headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}
        response = clinic.request(method, path, payload, headers=headers)
        created = response.json().get("id") if response.status_code == 201 else None
        return response.status_code, time.monotonic() - started, created

    answers: list[Answer] = []
    ready_states = []

    def ready() -> Answer:
        """``/ready`` timed like the others, and what it said kept: every sample counts."""
        started = time.monotonic()
        response = clinic.request("GET", "/ready")
        ready_states.append(response.json())
        return response.status_code, time.monotonic() - started, None

    def one_of_each(_n: int) -> list[Answer]:
        return [timed("POST", "/v1/referrals", body), timed("GET", f"/v1/referrals/{before_id}"), ready()]

    with stall:
        stalled_at = time.monotonic()
        pool = eventlet.GreenPool(3)
        while time.monotonic() - stalled_at < STALL_SECONDS:
            for batch in pool.imap(one_of_each, range(3)):
                answers += batch

    slowest = max(took for _, took, _ in answers)
    assert slowest < DEADLINE + 1, f"a request took {slowest:.1f} s"
    assert {status for status, _, _ in answers} <= {200, 201, 503}
    assert any(status == 503 for status, _, _ in answers), "the stall was not felt"
    if reads_stall:
        where = [s["gateway"] if stalled_process == "gateway" else s["services"]["referrals"]
                 for s in ready_states]
        # A service whose database stalls answers its health check "database unavailable", or,
        # with every worker waiting on that database, not at all: both are "not ready".
        assert any(state["database"] == "unavailable" or state.get("broker") == "unavailable"
                   for state in where), where

    # Back: every referral accepted during the stall is proposed or waitlisted, none twice.
    network.wait_ready()
    accepted = [before_id] + [created for status, _, created in answers if status == 201]

    def outcome(referral_id: str) -> str | None:
        view = referral(clinic, referral_id)
        return "waitlisted" if view["waitlisted"] else (view["match"] or {}).get("status")

    wait(lambda: all(outcome(r) in ("proposed", "waitlisted") for r in accepted),
         "every accepted referral to be proposed or waitlisted", timeout=120, interval=1)
    live = live_proposals(peers)
    assert {r: n for r, n in live.items() if n > 1} == {}
