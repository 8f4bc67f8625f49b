"""What leaves is what the consent covers, through the gateway on real processes: substance-use
criteria only under ``substance-use``, the handoff carrying the covered reason, and status reasons
seen by every party as codes, in words only by the agency that wrote them."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.harness.events import EventTap
from tests.harness.journeys import (
    DATA_CLASSES,
    accept_proposal,
    grant_consent,
    mentor,
    proposed_match,
    refer,
    referral,
    referral_request,
    wait,
)

pytestmark = pytest.mark.e2e
SUBSTANCE_NEEDS = {"lived_experience": ["opioids", "overdose-survivor"],
                   "pathways": ["medication-assisted", "12-step"]}


@pytest.fixture(scope="module")
def mentors(agencies):
    for n in range(3):
        agencies["peers_a"].ok("POST", "/v1/mentors", mentor(200 + n, capacity=5))


@pytest.fixture
def tap(network):
    tap = EventTap(network.env["AMQP_URI"], "test.consent_scope")
    yield tap
    tap.close()


def requested_event(tap: EventTap, referral_id: str) -> dict:
    def arrived():
        found = [e for e in tap.events("referral.requested") if e["payload"]["referral_id"] == referral_id]
        return found[0] if found else None
    return wait(arrived, "referral.requested on the test's own queue")


def test_a_referral_without_substance_use_sends_no_substance_criteria(agencies, mentors, tap):
    hospital, coordinators = agencies["hospital"], [agencies["peers_a"], agencies["peers_b"]]
    consent = grant_consent(hospital, tag="ScopeNoSud")
    made = refer(hospital, consent, **SUBSTANCE_NEEDS)

    event = requested_event(tap, made["id"])
    criteria = event["payload"]["criteria"]
    assert criteria["lived_experience"] == [] and criteria["pathways"] == ["12-step"]
    assert criteria["substance_use_shared"] is False
    assert "opioids" not in json.dumps(event) and "medication-assisted" not in json.dumps(event)
    assert referral(hospital, made["id"])["needs"]["lived_experience"] == SUBSTANCE_NEEDS["lived_experience"]

    _, match = wait(lambda: proposed_match(coordinators, made["id"]), "a proposal")
    shared = {item["factor"]: item["shared"] for item in match["explanation"]}
    assert shared["lived_experience"] is False and shared["pathway"] is False and shared["age"] is True

    # The hospital holds the consent, so it reads the participant's accounting.
    accounted = hospital.ok("GET", f"/v1/participants/{consent['participant_id']}/disclosures")["items"]
    assert [(d["recipient"], d["data_classes"]) for d in accounted] == [
        ("network:peer_group", ["referral-reason"])]


def test_a_referral_with_substance_use_sends_its_criteria_and_accounts_for_them(agencies, mentors, tap):
    hospital = agencies["hospital"]
    consent = grant_consent(hospital, tag="ScopeSud", data_classes=(*DATA_CLASSES, "substance-use"))
    made = refer(hospital, consent, **SUBSTANCE_NEEDS)

    criteria = requested_event(tap, made["id"])["payload"]["criteria"]
    assert criteria["substance_use_shared"] is True
    assert criteria["lived_experience"] == ["opioids", "overdose-survivor"]
    accounted = hospital.ok("GET", f"/v1/participants/{consent['participant_id']}/disclosures")["items"]
    assert accounted[0]["data_classes"] == ["referral-reason", "substance-use"]


def test_the_handoff_carries_the_covered_reason_and_nothing_uncovered(agencies, mentors):
    hospital, coordinators = agencies["hospital"], [agencies["peers_a"], agencies["peers_b"]]
    consent = grant_consent(hospital, tag="ScopeHandoff")
    made = refer(hospital, consent, **SUBSTANCE_NEEDS)
    coordinator, _ = accept_proposal(coordinators, hospital, made["id"])

    packet = coordinator.ok("GET", f"/v1/referrals/{made['id']}/handoff")
    assert packet["reason"] == "Canary clinical note: peer support after detox discharge"
    assert packet["data_classes"] == ["contact", "demographics", "referral-reason"]
    assert packet["needs"]["lived_experience"] == [] and packet["needs"]["pathways"] == ["12-step"]
    assert packet["participant"]["given_name"] == "CanaryScopeHandoff"
    accounted = hospital.ok("GET", f"/v1/participants/{consent['participant_id']}/disclosures")["items"]
    assert accounted[-1]["recipient"] == coordinator.id
    assert accounted[-1]["data_classes"] == packet["data_classes"]


def test_another_agency_sees_a_reason_code_only(agencies, operator, mentors):
    hospital, coordinators = agencies["hospital"], [agencies["peers_a"], agencies["peers_b"]]
    made = refer(hospital, grant_consent(hospital, tag="ScopeReasons"))
    coordinator, _ = accept_proposal(coordinators, hospital, made["id"])
    path = f"/v1/referrals/{made['id']}"

    coordinator.ok("POST", f"{path}/status", {"status": "on-hold", "reason_code": "unable-to-contact",
                                              "reason": "relapsed, readmitted to detox"})
    hospital.ok("POST", f"{path}/cancel", {"reason_code": "referred-elsewhere",
                                           "reason": "CanaryScopeReasons moved to Ohio"})

    seen = {name: client.ok("GET", path)["history"][-2:]
            for name, client in (("referrer", hospital), ("peer group", coordinator))}
    # Nobody else reads the referral at all: the operator is refused, another agency does not see it.
    assert operator.request("GET", path).status_code == 403
    stranger = next(c for c in coordinators if c is not coordinator)
    assert stranger.request("GET", path).status_code == 404
    for name, (held, cancelled) in seen.items():
        assert (held["reason_code"], cancelled["reason_code"]) == ("unable-to-contact", "referred-elsewhere")
        own_hold, own_cancel = name == "peer group", name == "referrer"
        assert held["reason"] == ("relapsed, readmitted to detox" if own_hold else None), name
        assert cancelled["reason"] == ("CanaryScopeReasons moved to Ohio" if own_cancel else None), name


def test_free_text_lived_experience_is_refused_listing_the_codes(agencies):
    hospital = agencies["hospital"]
    body = referral_request(grant_consent(hospital, tag="ScopeWords"), lived_experience=["fentanyl overdose"])
    refused = hospital.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "invalid_request"
    assert "overdose-survivor" in json.dumps(problem["errors"]) and "fentanyl" not in json.dumps(problem)
    listed = hospital.ok("GET", "/v1/referrals")["items"]
    assert all(r["participant_id"] != body["participant_id"] for r in listed)
