"""Nothing lost, nothing doubled, nothing wedged: keyed creations while processes are SIGKILLed.

Each test registers its own referrer, sends a small burst of referrals (each under its own
Idempotency-Key, the key written into the referral's reason so the checker can tell which request
made what), kills a process mid-burst and starts it again; the client retries every 503, 409 "in
flight" and dropped connection with the same key, as an integration engine does. At quiescence the
checker (tests/harness/checker.py) finds nothing lost, doubled or unexpected.
"""

from __future__ import annotations

import uuid

import eventlet
import pytest

from network.processes import Client
from tests.harness.checker import KeyedCreations, create_until_answered, held_by_key
from tests.harness.journeys import grant_consent, referral_request

pytestmark = [pytest.mark.e2e, pytest.mark.fault]
BURST = 30
REASON = "Fault burst, key "


@pytest.fixture
def referrer(network, operator) -> Client:
    """A referrer of its own, so every referral it holds comes from the test's burst."""
    return Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": f"Fault Clinic {uuid.uuid4().hex[:6]}", "kind": "clinic", "roles": ["referrer"]}))


def send_burst(referrer: Client, consent: dict, log: KeyedCreations, *, on_answer) -> dict[str, dict]:
    """``BURST`` keyed referrals, ten at a time, each retried until answered; ``on_answer(n)`` runs
    after the n-th first answer (the moment a test picks to kill something). Returns key → body."""
    bodies = {f"fault-{uuid.uuid4().hex[:12]}": None for _ in range(BURST)}
    for key in bodies:
        bodies[key] = {**referral_request(consent), "reason": REASON + key}
    answered = [0]

    def one(key: str) -> str | None:
        post = lambda: referrer.request(  # noqa: E731
            "POST", "/v1/referrals", bodies[key], headers={"Idempotency-Key": key})
        object_id = create_until_answered(post, key, log)
        answered[0] += 1
        on_answer(answered[0])
        return object_id

    list(eventlet.GreenPool(10).imap(one, bodies))
    return bodies


def held_referrals(referrer: Client) -> list[tuple[str, str | None]]:
    """Every referral the referrer holds, with the key its reason names."""
    items, page = [], None
    while True:
        listing = referrer.ok("GET", "/v1/referrals" + (f"?page={page}" if page else ""))
        items.extend(listing["items"])
        page = listing["next_page"]
        if not page:
            break
    return held_by_key(items, lambda item: (item.get("reason") or "").removeprefix(REASON) or None)


def test_sigkill_of_referrals_mid_burst_makes_exactly_one_referral_per_key(network, referrer):
    consent = grant_consent(referrer, tag="Kill")
    log = KeyedCreations()
    killed = []

    def kill_referrals_once(answered: int) -> None:
        if answered == BURST // 3 and not killed:
            killed.append(True)
            network.kill("referrals")
            eventlet.spawn_after(1.0, network.start, "referrals")

    send_burst(referrer, consent, log, on_answer=kill_referrals_once)
    assert killed
    assert log.retried(), "the kill interrupted no request: the test proved nothing"
    network.wait_ready()
    verdict = log.verdict(held_referrals(referrer))
    assert verdict.ok, verdict
    assert len(log.accepted) == BURST


def test_a_gateway_killed_with_posts_in_flight_answers_every_key_with_its_referral(network, referrer):
    consent = grant_consent(referrer, tag="Gate")
    log = KeyedCreations()
    killed = []

    def kill_gateway_once(answered: int) -> None:
        if answered == 3 and not killed:
            killed.append(True)
            network.kill("gateway")  # seven more POSTs are on their way through it
            eventlet.spawn_after(1.0, network.start, "gateway")

    bodies = send_burst(referrer, consent, log, on_answer=kill_gateway_once)
    assert killed
    assert log.retried(), "the kill interrupted no request: the test proved nothing"
    network.wait_ready()
    held = held_referrals(referrer)
    verdict = log.verdict(held)
    assert verdict.ok, verdict
    # After the restart every key, sent once more, answers the one referral it made.
    made = dict((key, object_id) for object_id, key in held)
    for key, body in bodies.items():
        again = referrer.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": key})
        assert again.status_code == 201, again.text
        assert again.json()["id"] == made[key]
        assert again.headers["Idempotent-Replayed"] == "true"
