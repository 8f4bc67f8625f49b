"""The closed loop on real processes: consent → referral → proposal → acceptance → handoff →
in-progress → completed, with the referrer's webhook hearing every step and the ledger verifying."""

from __future__ import annotations

import json

import pytest

from services.notifications.signing import verify
from tests.harness.journeys import grant_consent, mentor, proposed_match, refer, referral, wait
from tests.support import HttpReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mentors(agencies):
    for n in range(4):
        agencies["peers_a"].ok("POST", "/v1/mentors", mentor(n))
        agencies["peers_b"].ok("POST", "/v1/mentors", mentor(100 + n, languages=("en",)))


@pytest.fixture(scope="module")
def referrer_webhook(agencies):
    receiver = HttpReceiver(lambda _request: (200, b"{}")).start()
    settings = agencies["hospital"].ok("PUT", "/v1/notification-settings",
                                       {"webhook_url": receiver.url + "/hooks", "language": "en"})
    yield receiver, settings["webhook_secret"]
    receiver.stop()


def walk_to_completion(hospital, coordinators, referral_id: str) -> None:
    coordinator, match = wait(lambda: proposed_match(coordinators, referral_id), "a proposal")
    assert match["explanation"], "a coordinator sees why this mentor was proposed"
    assert abs(sum(f["contribution"] for f in match["explanation"]) - match["score"]) < 1e-6
    assert coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")["status"] == "accepted"
    wait(lambda: referral(hospital, referral_id)["status"] == "accepted", "acceptance")
    handoff = coordinator.ok("GET", f"/v1/referrals/{referral_id}/handoff")
    assert handoff["participant"]["given_name"].startswith("CanaryStory")
    assert handoff["redisclosure_notice"] and handoff["consent"]
    for status in ("in-progress", "completed"):
        coordinator.ok("POST", f"/v1/referrals/{referral_id}/status", {"status": status})
    seen = [h["status"] for h in referral(hospital, referral_id)["history"]]
    assert seen == ["requested", "accepted", "in-progress", "completed"]


def test_several_referrals_close_the_loop(network, agencies, operator, mentors, referrer_webhook):
    hospital = agencies["hospital"]
    coordinators = [agencies["peers_a"], agencies["peers_b"]]
    receiver, secret = referrer_webhook
    consents = [grant_consent(hospital, tag=f"Story{n}") for n in range(3)]
    referrals = [refer(hospital, consent) for consent in consents]
    assert all(r["status"] == "requested" for r in referrals)

    for ref in referrals:
        walk_to_completion(hospital, coordinators, ref["id"])

    def statuses_heard() -> dict[str, set[str]]:
        heard: dict[str, set[str]] = {}
        for request in receiver.received:
            verify(secret, request.body, request.headers["X-Signature"])
            body = json.loads(request.body)
            if body["type"] == "referral.status_changed":
                heard.setdefault(body["data"]["referral_id"], set()).add(body["data"]["to_status"])
        return heard

    wanted = {"accepted", "in-progress", "completed"}
    wait(lambda: all(wanted <= statuses_heard().get(r["id"], set()) for r in referrals),
         "the referrer's webhook to hear every step", timeout=45)
    raw = b"".join(request.body for request in receiver.received)
    assert b"CanaryStory" not in raw and b"Canary clinical note" not in raw

    assert operator.ok("GET", "/v1/audit/verify")["ok"] is True
    # The hospital holds the consent and reads its accounting; the operator never does.
    disclosures = hospital.ok("GET", f"/v1/participants/{consents[0]['participant_id']}/disclosures")["items"]
    assert any(d["consent_id"] == consents[0]["id"] for d in disclosures)


def test_revocation_mid_flight_cancels_and_tells_the_peer_group(network, agencies, mentors):
    hospital, peers = agencies["hospital"], [agencies["peers_a"], agencies["peers_b"]]
    peer_hooks = {c.id: HttpReceiver(lambda _r: (200, b"{}")).start() for c in peers}
    try:
        for coordinator in peers:
            settings = {"webhook_url": peer_hooks[coordinator.id].url}
            coordinator.ok("PUT", "/v1/notification-settings", settings)
        consent = grant_consent(hospital, tag="Revoke")
        ref = refer(hospital, consent)
        coordinator, match = wait(lambda: proposed_match(peers, ref["id"]), "a proposal")
        coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")
        wait(lambda: referral(hospital, ref["id"])["status"] == "accepted", "acceptance")
        assert coordinator.request("GET", f"/v1/referrals/{ref['id']}/handoff").status_code == 200

        hospital.ok("POST", f"/v1/consents/{consent['id']}/revoke", {"reason": "participant asked"})
        final = wait(lambda: (r := referral(hospital, ref["id"]))["status"] == "cancelled" and r, "cancel")
        assert final["history"][-1]["reason_code"] == "consent_revoked"
        assert coordinator.request("GET", f"/v1/referrals/{ref['id']}/handoff").status_code in (404, 409)

        def told() -> bool:
            return any(json.loads(r.body)["type"] == "consent.revoked"
                       for r in peer_hooks[coordinator.id].received)
        # Behind a burst's backlog (the replica run follows one) the message waits its turn.
        wait(told, "the peer group to hear that the consent ended", timeout=120)
    finally:
        for hook in peer_hooks.values():
            hook.stop()


def test_no_personal_detail_reaches_any_process_log(network, agencies, mentors):
    hospital, peers = agencies["hospital"], [agencies["peers_a"], agencies["peers_b"]]
    consent = grant_consent(hospital, tag="Logcanary")
    ref = refer(hospital, consent)
    coordinator, match = wait(lambda: proposed_match(peers, ref["id"]), "a proposal")
    coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")
    wait(lambda: referral(hospital, ref["id"])["status"] == "accepted", "acceptance")
    handoff = coordinator.ok("GET", f"/v1/referrals/{ref['id']}/handoff")
    assert handoff["participant"]["family_name"] == "ZedLogcanary"  # the details did travel
    canaries = ["CanaryLogcanary", "ZedLogcanary", "canarylogcanary@example.org", "+15555550123",
                "Canary clinical note"]
    for name in ("consent", "referrals", "matching", "notifications", "engagement", "gateway"):
        text = (network.logs / f"{name}.log").read_text(errors="replace")
        assert not [c for c in canaries if c in text], f"{name} logged personal details"
