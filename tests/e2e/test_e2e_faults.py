"""Nothing lost, nothing doubled, nothing wedged: keyed creations while each process is SIGKILLed.

Each case registers its own referrer and peer group (one mentor, a few places), sends a small
burst of referrals (each under its own Idempotency-Key, the key written into the referral's
reason so the checker can tell which request made what), kills one process mid-burst and starts
it again; the client retries every 503, 409 "in flight" and dropped connection with the same
key, as an integration engine does. At quiescence the checker (tests/harness/checker.py) finds
nothing lost (every accepted referral held and proposed or waitlisted), doubled (one referral per
key, one live match per referral) or unexpected, and every key sent once more answers the one
referral it made.

The gateway, referrals and consent answer the POST itself: killed, they come back once the
requests they were serving are past the gateway's RPC deadline (a restarted process would
otherwise take a redelivered request and answer it in time, and the case would prove no retry),
while the client retries. Matching and notifications only consume the burst's events:
they stay down until the burst is over, so the events of every referral made meanwhile wait for
them in their queues. One network serves every case; each case restarts what it killed.
"""

from __future__ import annotations

import time
import uuid

import eventlet
import pytest

from network.processes import Client
from tests.harness.checker import KeyedCreations, Verdict, create_until_answered, held_by_key
from tests.harness.journeys import every_page, grant_consent, mentor, referral_request

pytestmark = [pytest.mark.e2e, pytest.mark.fault]
BURST = 20
KILL_AFTER = BURST // 4  # answers before the kill; ten requests are in flight then
IN_REQUEST_PATH = ("gateway", "referrals", "consent")  # what a POST /v1/referrals goes through
CONSUMERS_ONLY = ("matching", "notifications")
MENTOR_PLACES = 5  # fewer than the burst: some referrals are proposed, the rest waitlisted
LIVE_MATCH = ("proposed", "accepted")
REASON = "Fault burst, key "


@pytest.fixture
def world(network, operator) -> tuple[Client, Client, dict]:
    """A referrer and a peer group of the case's own, and a consent naming only that group, so
    every referral and match they hold comes from the case's burst."""
    tag = uuid.uuid4().hex[:6]
    referrer = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": f"Fault Clinic {tag}", "kind": "clinic", "roles": ["referrer"]}))
    peers = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": f"Fault Peers {tag}", "kind": "peer_group", "roles": ["coordinator"]}))
    peers.ok("POST", "/v1/mentors", mentor(1, capacity=MENTOR_PLACES))
    consent = grant_consent(referrer, tag=f"Kill{tag}", agencies=[peers.id], classes=())
    return referrer, peers, consent


def past_rpc_deadline(network) -> float:
    """Seconds after which every request a killed process was serving is past the gateway's RPC
    deadline (``RPC_TIMEOUT_SECONDS``), and so answered 503 and retried."""
    return float(network.env.get("RPC_TIMEOUT_SECONDS") or 5) + 1.0


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


def settled_verdict(log: KeyedCreations, referrer: Client, peers: Client, *,
                    timeout: float = 60) -> tuple[Verdict, int]:
    """The checker's verdict once every accepted referral is proposed or waitlisted (or the last
    one after ``timeout`` seconds, which then names what never settled as lost), and how many
    live matches the peer group holds."""
    deadline = time.monotonic() + timeout
    while True:
        referrals = every_page(referrer, "/v1/referrals")
        settled = [item["id"] for item in referrals
                   if item.get("waitlisted") or (item.get("match") or {}).get("status") == "proposed"]
        live = [(match["id"], match["referral_id"]) for match in every_page(peers, "/v1/matches")
                if match["status"] in LIVE_MATCH]
        held = held_by_key(referrals, lambda item: (item.get("reason") or "").removeprefix(REASON) or None)
        verdict = log.verdict(held, settled=settled, live_matches=live)
        if verdict.ok or time.monotonic() > deadline:
            return verdict, len(live)
        time.sleep(0.5)


@pytest.mark.parametrize("killed", IN_REQUEST_PATH + CONSUMERS_ONLY)
def test_sigkill_of_each_process_mid_burst_loses_and_doubles_nothing(network, world, killed):
    referrer, peers, consent = world
    log = KeyedCreations()
    kills = []

    def kill_once(answered: int) -> None:
        if answered == KILL_AFTER and not kills:
            kills.append(killed)
            network.kill(killed)
            if killed in IN_REQUEST_PATH:
                eventlet.spawn_after(past_rpc_deadline(network), network.start, killed)

    bodies = send_burst(referrer, consent, log, on_answer=kill_once)
    assert kills
    if killed in IN_REQUEST_PATH:
        assert log.retried(), "the kill interrupted no request: the case proved nothing"
    else:
        network.start(killed)  # the events of the referrals made meanwhile wait in its queues
    network.wait_ready()
    verdict, live_matches = settled_verdict(log, referrer, peers)
    assert verdict.ok, verdict
    assert live_matches, "nothing was proposed: one live match per referral went unchecked"
    assert len(log.accepted) == BURST
    # Every key, sent once more, answers the one referral it made (no key wedged by the kill).
    for key, body in bodies.items():
        again = referrer.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": key})
        assert again.status_code == 201, again.text
        assert again.json()["id"] == log.accepted[key]
        assert again.headers["Idempotent-Replayed"] == "true"
