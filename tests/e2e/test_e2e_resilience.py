"""What survives a crash: kill -9 of matching mid-burst, and a consent service that is down."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import eventlet
import pytest

from tests.harness.checker import KeyedCreations, create_until_answered
from tests.harness.journeys import every_page, grant_consent, mentor, referral_request, wait

pytestmark = pytest.mark.e2e
# More referrals than places, so some wait; small enough to stay quick on a loaded machine.
MENTORS, PLACES = 4, 5
BURST = 40


def live_proposals(coordinators) -> Counter:
    """How many proposed or accepted matches each referral has, across every peer group."""
    per_referral: Counter = Counter()
    for coordinator in coordinators:
        for status in ("proposed", "accepted"):
            for match in every_page(coordinator, f"/v1/matches?status={status}"):
                per_referral[match["referral_id"]] += 1
    return per_referral


@pytest.mark.fault
def test_kill_9_of_matching_during_a_burst_loses_and_doubles_nothing(network, agencies):
    clinic, peers = agencies["clinic"], [agencies["peers_a"], agencies["peers_b"]]
    for n in range(MENTORS):
        peers[n % 2].ok("POST", "/v1/mentors", mentor(500 + n, languages=("fr",), capacity=PLACES))
    consent = grant_consent(clinic, tag="Burst")
    log = KeyedCreations()
    body = referral_request(consent, languages=("fr",))

    def send(_n: int) -> str | None:
        key = str(uuid.uuid4())
        # A loaded machine may answer 503: the client retries under the same key.
        return create_until_answered(
            lambda: clinic.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": key}), key, log)

    sent = []
    for n, referral_id in enumerate(eventlet.GreenPool(20).imap(send, range(BURST))):
        sent.append(referral_id)
        if n == BURST // 3:
            network.kill("matching")  # mid-burst: some events unacked, some half-handled
    assert None not in sent and len(set(sent)) == BURST
    time.sleep(1)
    network.start("matching")
    network.wait_ready()

    def outcomes() -> dict[str, str | None]:
        views = {item["id"]: item for item in every_page(clinic, "/v1/referrals") if item["id"] in sent}
        return {referral_id: "waitlisted" if view["waitlisted"] else (view["match"] or {}).get("status")
                for referral_id, view in views.items()}

    wait(lambda: len(found := outcomes()) == BURST and set(found.values()) <= {"proposed", "waitlisted"},
         "every referral to be proposed or waitlisted", timeout=120, interval=1)
    live, outcome = live_proposals(peers), outcomes()
    doubled = {r: n for r, n in live.items() if r in sent and n > 1}
    assert doubled == {}
    for referral_id in sent:
        assert (live[referral_id] == 1) == (outcome[referral_id] == "proposed")
    # Capacity is a hard limit: every place taken, the rest wait.
    assert sum(1 for r in sent if live[r]) == MENTORS * PLACES


def test_a_stopped_consent_service_gives_503_in_time_and_recovers(network, agencies):
    hospital = agencies["hospital"]
    network.stop("consent")
    try:
        started = time.monotonic()
        response = hospital.request("POST", "/v1/consents", {"participant": {}})
        assert response.status_code in (422, 503)  # validation may answer before any service
        response = hospital.request("GET", "/v1/consents/00000000-0000-0000-0000-000000000000")
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert elapsed < 10  # RPC_TIMEOUT_SECONDS is 3: no hanging request
        assert hospital.request("GET", "/v1/referrals").status_code == 200  # others still serve
        ready = hospital.request("GET", "/ready")
        assert ready.status_code == 503
        assert ready.json()["services"]["consent"] == {"broker": "unavailable", "database": "unknown"}
        assert ready.json()["services"]["referrals"] == {"broker": "ok", "database": "ok"}
    finally:
        network.start("consent")
    network.wait_ready()
    assert grant_consent(hospital, tag="Back")["status"] == "active"
