"""A database stalls for longer than the gateway's deadline (every PostgreSQL backend of it stopped
with SIGSTOP, and each new one too, until SIGCONT): every request is answered within the deadline,
readiness names the database, and afterwards nothing accepted is lost and nothing is doubled."""

from __future__ import annotations

import time
import uuid

import eventlet
import pytest

from tests.e2e.test_e2e_resilience import live_proposals
from tests.harness.journeys import grant_consent, mentor, referral, referral_request, wait
from tests.harness.stall import stalled_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.fault]
DEADLINE = 10.0  # GATEWAY_DEADLINE_SECONDS's default, which the test network keeps
STALL_SECONDS = DEADLINE + 2


@pytest.mark.parametrize("stalled_process", ["referrals", "gateway"])
def test_a_stalled_database_answers_every_request_in_time_and_loses_nothing(
        request, network, agencies, stalled_process):
    clinic, peers = agencies["clinic"], [agencies["peers_a"], agencies["peers_b"]]
    language = {"referrals": "it", "gateway": "pt"}[stalled_process]
    for n in range(2):
        peers[n].ok("POST", "/v1/mentors", mentor(800 + n, languages=(language,), capacity=50))
    consent = grant_consent(clinic, tag=f"Stall{stalled_process.title()}")
    before = clinic.ok("POST", "/v1/referrals", referral_request(consent, languages=(language,)),
                       headers={"Idempotency-Key": str(uuid.uuid4())})

    def timed(method: str, path: str, body=None) -> tuple[int, float, str | None]:
        started = time.monotonic()
        headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}
        response = clinic.request(method, path, body, headers=headers)
        created = response.json().get("id") if response.status_code == 201 else None
        return response.status_code, time.monotonic() - started, created

    def one_of_each(_n: int) -> list[tuple[int, float, str | None]]:
        return [timed("POST", "/v1/referrals", referral_request(consent, languages=(language,))),
                timed("GET", f"/v1/referrals/{before['id']}"), timed("GET", "/ready")]

    answers: list[tuple[int, float, str | None]] = []
    ready_states = []
    with stalled_postgres(request.config.getoption("--postgres-url"),
                          network.env[f"{stalled_process.upper()}_DATABASE_URL"]):
        stalled_at = time.monotonic()
        pool = eventlet.GreenPool(3)
        while time.monotonic() - stalled_at < STALL_SECONDS:
            for batch in pool.imap(one_of_each, range(3)):
                answers += batch
            ready_states.append(clinic.request("GET", "/ready").json())

    slowest = max(took for _, took, _ in answers)
    assert slowest < DEADLINE + 1, f"a request took {slowest:.1f} s"
    assert {status for status, _, _ in answers} <= {200, 201, 503}
    assert any(status == 503 for status, _, _ in answers), "the stall was not felt"
    if stalled_process == "gateway":
        assert any(state["gateway"]["database"] == "unavailable" for state in ready_states)
    else:
        assert any(state["services"]["referrals"]["database"] == "unavailable" for state in ready_states)

    # Back: every referral accepted during the stall, and any a 503 still created, is matched once.
    network.wait_ready()
    accepted = [before["id"]] + [created for status, _, created in answers if status == 201]

    def outcome(referral_id: str) -> str | None:
        view = referral(clinic, referral_id)
        return "waitlisted" if view["waitlisted"] else (view["match"] or {}).get("status")

    wait(lambda: all(outcome(r) in ("proposed", "waitlisted") for r in accepted),
         "every accepted referral to be proposed or waitlisted", timeout=120, interval=1)
    live = live_proposals(peers)
    assert {r: n for r, n in live.items() if n > 1} == {}
