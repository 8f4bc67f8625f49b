"""The FHIR door on real processes: an EHR's transaction Bundle becomes a referral whose Task it
follows by polling ``_lastUpdated`` while the peer group accepts (through /v1), starts and
completes it; a cancellation, a consent missing Part 2 elements, a retried conditional create,
other agencies' resources and the /v1 search by the referrer's identifier, each as a client sees
them over HTTP."""

from __future__ import annotations

import copy
import time
import uuid

import pytest

from gateway.fhir import codes as c
from network.processes import Client
from tests.harness.fhir import consent_resource, patient_resource, referral_bundle, validate
from tests.harness.journeys import mentor, proposed_match, referral, wait

pytestmark = pytest.mark.e2e

FHIR = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
PATCH = {"Content-Type": "application/json-patch+json"}


def fhir(client, method, path, body=None, status=200, headers=None):
    """One FHIR call, sent again as the API asks of a client: a 503 after its Retry-After (a
    Bundle with an identifier, or any read, is safe to repeat), a 409 that says the referral
    changed meanwhile (the network's own moves race the client's) at once."""
    for _attempt in range(4):
        response = client.request(method, path, body, headers={**FHIR, **(headers or {})})
        if response.status_code == 503 and status != 503:
            time.sleep(min(float(response.headers.get("Retry-After") or 1), 2.0))
        elif not (response.status_code == 409 and "changed meanwhile" in response.text):
            break
    assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    resource = response.json()
    validate(resource)
    return resource


def entries(bundle):
    return {e["resource"]["resourceType"]: e for e in bundle["entry"]}


def changed_since(client, since, **params):
    """The referrer's Tasks changed after ``since`` (a poll as an EHR makes it)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    bundle = fhir(client, "GET", f"/fhir/Task?_lastUpdated=gt{since.replace('+', '%2B')}&{query}")
    return [e["resource"] for e in bundle["entry"]]


def accept(coordinators, referrer, referral_id):
    """The proposed peer group accepts through /v1. A 503 is retried, as the API asks; a 409 after
    one means the first attempt went through, which the referral's acceptance then shows."""
    coordinator, match = wait(lambda: proposed_match(coordinators, referral_id), "a proposal")
    for _attempt in range(4):
        response = coordinator.request("POST", f"/v1/matches/{match['id']}/accept")
        if response.status_code != 503:
            break
        time.sleep(min(float(response.headers.get("Retry-After") or 1), 2.0))
    assert response.status_code in (200, 409), response.text
    wait(lambda: referral(referrer, referral_id)["status"] == "accepted", "acceptance")
    return coordinator


@pytest.fixture(scope="module")
def mentors(agencies):
    for n in range(2):
        agencies["peers_a"].ok("POST", "/v1/mentors", mentor(300 + n))


def test_a_referral_bundle_followed_to_completion_over_fhir(agencies, mentors):
    hospital, clinic = agencies["hospital"], agencies["clinic"]
    coordinators = [agencies["peers_a"], agencies["peers_b"]]
    statement = fhir(hospital, "GET", "/fhir/metadata")
    assert statement["fhirVersion"] == "4.0.1"

    order = f"ORD-{uuid.uuid4().hex[:8]}"
    bundle = referral_bundle(hospital.id, identifier=order, conditional=True)
    made = entries(fhir(hospital, "POST", "/fhir", bundle))
    assert {e["response"]["status"] for e in made.values()} == {"201 Created"}
    task = made["Task"]["resource"]
    referral_id, participant_id = task["id"], task["for"]["reference"].split("/")[1]
    assert task["status"] == "requested" and made["ServiceRequest"]["resource"]["id"] == referral_id
    assert made["Consent"]["resource"]["patient"]["reference"] == f"Patient/{participant_id}"
    assert task["identifier"] == [{"system": "https://ehr.example/orders", "value": order}]

    # A retry of the same Bundle (a timeout, say) creates nothing: the same referral, 200.
    again = entries(fhir(hospital, "POST", "/fhir", bundle))
    assert {e["response"]["status"] for e in again.values()} == {"200 OK"}
    assert again["Task"]["resource"]["id"] == referral_id
    assert again["Consent"]["resource"]["id"] == made["Consent"]["resource"]["id"]
    lone = copy.deepcopy(bundle["entry"][2]["resource"])
    lone["subject"] = {"reference": f"Patient/{participant_id}"}
    lone["supportingInfo"] = [{"reference": f"Consent/{made['Consent']['resource']['id']}"}]
    found = fhir(hospital, "POST", "/fhir/ServiceRequest", lone,
                 headers={"If-None-Exist": f"identifier=https://ehr.example/orders|{order}"})
    assert found["id"] == referral_id
    # The same referral through /v1, by the referrer's identifier; FHIR search by it too.
    listed = hospital.ok("GET", f"/v1/referrals?external_id={order}")["items"]
    assert [r["id"] for r in listed] == [referral_id] and listed[0]["external_id"] == order
    searched = fhir(hospital, "GET", f"/fhir/ServiceRequest?identifier=https://ehr.example/orders|{order}")
    assert [e["resource"]["id"] for e in searched["entry"]] == [referral_id]
    assert fhir(hospital, "GET", f"/fhir/Patient/{participant_id}")["id"] == participant_id

    # The peer group accepts the network's proposal through /v1; the EHR sees it by polling.
    since = task["meta"]["lastUpdated"]
    coordinator = accept(coordinators, hospital, referral_id)
    [accepted] = wait(lambda: changed_since(hospital, since, focus=f"ServiceRequest/{referral_id}"),
                      "the accepted Task")
    assert accepted["status"] == "accepted"
    assert accepted["owner"]["reference"] == f"Organization/{coordinator.id}"
    owner = fhir(hospital, "GET", f"/fhir/Organization/{coordinator.id}")
    assert owner["name"] and owner["active"] is True

    started = fhir(coordinator, "PATCH", f"/fhir/Task/{referral_id}",
                   [{"op": "replace", "path": "/status", "value": "in-progress"}], headers=PATCH)
    assert started["status"] == "in-progress"
    done = fhir(coordinator, "PUT", f"/fhir/Task/{referral_id}", {**started, "status": "completed"})
    assert done["status"] == "completed"
    since = accepted["meta"]["lastUpdated"]
    polled = wait(lambda: [t for t in changed_since(hospital, since, requester=f"Organization/{hospital.id}")
                           if t["id"] == referral_id and t["status"] == "completed"], "completion")
    assert polled[0]["output"][0]["type"]["coding"][0]["code"] == "resulting-activity"
    assert fhir(hospital, "GET", f"/fhir/ServiceRequest/{referral_id}")["status"] == "completed"

    # Another agency's Task, ServiceRequest and Consent answer as unknown ids do.
    unknown = str(uuid.uuid4())
    for path in (f"Task/{referral_id}", f"ServiceRequest/{referral_id}",
                 f"Consent/{made['Consent']['resource']['id']}", f"Task/{unknown}", f"Consent/{unknown}"):
        outcome = fhir(clinic, "GET", f"/fhir/{path}", status=404)
        assert outcome["issue"][0]["details"]["coding"][0]["code"] == "not_found"
    assert fhir(clinic, "GET", f"/fhir/Task?identifier={order}")["entry"] == []


def test_cancel_refuse_and_revoke_over_fhir(agencies, network):
    hospital = agencies["hospital"]
    anonymous = Client(network.base_url)
    assert fhir(anonymous, "GET", "/fhir/Task", status=401)["issue"][0]["code"] == "login"
    assert fhir(hospital, "GET", "/fhir/Basic/x", status=404)["issue"][0]["details"]["coding"][0][
        "code"] == "not_found"
    made = entries(fhir(hospital, "POST", "/fhir", referral_bundle(hospital.id)))
    referral_id = made["Task"]["resource"]["id"]
    no_reason = fhir(hospital, "PATCH", f"/fhir/Task/{referral_id}",
                     [{"op": "replace", "path": "/status", "value": "cancelled"}], status=422, headers=PATCH)
    assert no_reason["issue"][0]["expression"] == ["Task.statusReason"]
    cancelled = fhir(hospital, "PATCH", f"/fhir/Task/{referral_id}", {
        "resourceType": "Task", "status": "cancelled",
        "statusReason": c.concept(c.STATUS_REASON_SYSTEM, "no-longer-needed")})
    assert cancelled["status"] == "cancelled"
    assert cancelled["statusReason"]["coding"][0]["code"] == "no-longer-needed"
    assert fhir(hospital, "GET", f"/fhir/ServiceRequest/{referral_id}")["status"] == "revoked"

    # Pages of one: the first links to the next, which holds the other referral.
    other = entries(fhir(hospital, "POST", "/fhir", referral_bundle(hospital.id)))["Task"]["resource"]["id"]
    first = fhir(hospital, "GET", f"/fhir/Task?requester=Organization/{hospital.id}&_count=1")
    [next_url] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = fhir(hospital, "GET", "/fhir/" + next_url.split("/fhir/", 1)[1])
    assert [e["resource"]["id"] for e in first["entry"] + second["entry"]] == [other, referral_id]

    # A consent missing elements of 42 CFR 2.31 is refused naming each one.
    incomplete = consent_resource(hospital.id, "#p")
    incomplete["contained"] = [{**patient_resource("Inc"), "id": "p"}]
    del incomplete["provision"]["purpose"], incomplete["provision"]["period"]["end"], incomplete["dateTime"]
    refused = fhir(hospital, "POST", "/fhir/Consent", incomplete, status=422)
    named = {issue["expression"][0] for issue in refused["issue"]}
    assert {"Consent.provision.purpose", "Consent.provision.period.end", "Consent.dateTime"} <= named
    assert {i["details"]["coding"][0]["code"] for i in refused["issue"]} == {"invalid_request"}

    # The complete one is recorded, then revoked as status inactive.
    complete = consent_resource(hospital.id, "#p")
    complete["contained"] = incomplete["contained"]
    consent = fhir(hospital, "POST", "/fhir/Consent", complete, status=201)
    assert consent["status"] == "active"
    revoked = fhir(hospital, "PATCH", f"/fhir/Consent/{consent['id']}",
                   [{"op": "replace", "path": "/status", "value": "inactive"}], headers=PATCH)
    assert revoked["status"] == "inactive"
