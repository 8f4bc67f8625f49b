"""FHIR Subscriptions and SMART tokens on real processes: an EHR subscribes to its Tasks' status
changes, its loopback receiver gets the signed handshake, heartbeats and an id-only notification
naming the cancelled Task; another agency cannot see the subscription; a SMART backend token works
on /fhir within its scopes and is refused outside them."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.fhir import codes as c
from gateway.fhir import subscription as s
from gateway.smart import ASSERTION_TYPE
from network.processes import Client
from services.notifications import signing
from services.notifications.domain.subscriptions import TASK_STATUS_TOPIC
from tests.e2e.test_e2e_fhir import entries, fhir
from tests.harness.fhir import referral_bundle, validate
from tests.harness.journeys import wait
from tests.support import HttpReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ehr(network, operator):
    """A referrer of its own, so its settings and subscriptions are this module's alone."""
    return Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Northside Clinic", "kind": "clinic", "roles": ["referrer"]}))


@pytest.fixture(scope="module")
def receiver():
    started = HttpReceiver(lambda _request: (200, b"")).start()
    yield started
    started.stop()


def notifications(receiver, path, kind):
    """The parsed Bundles of ``kind`` received at ``path`` so far."""
    found = []
    for request in list(receiver.received):
        if request.path == path:
            bundle = json.loads(request.body)
            status = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
            if status["type"]["valueCode"] == kind:
                found.append((request, bundle, status))
    return found


def test_a_subscription_hears_its_tasks_status_changes_signed(ehr, receiver, agencies):
    secret = ehr.ok("PUT", "/v1/notification-settings", {"webhook_url": receiver.url + "/hooks"})[
        "webhook_secret"]
    hook = f"/fhir-hook/{uuid.uuid4().hex[:8]}"
    made = fhir(ehr, "POST", "/fhir/Subscription", {
        "resourceType": "Subscription", "status": "requested", "reason": "Follow our referrals",
        "criteria": TASK_STATUS_TOPIC,
        "channel": {"type": "rest-hook", "endpoint": receiver.url + hook, "payload": "application/fhir+json",
                    "_payload": {"extension": [{"url": s.EXT_CONTENT, "valueCode": "id-only"}]},
                    "extension": [{"url": s.EXT_HEARTBEAT, "valueUnsignedInt": 1}]}}, status=201)
    assert made["status"] == "requested" and made["criteria"] == TASK_STATUS_TOPIC

    [(request, bundle, status)] = wait(lambda: notifications(receiver, hook, "handshake"), "the handshake")
    assert request.headers["Content-Type"] == "application/fhir+json"
    signing.verify(secret, request.body, request.headers[signing.SIGNATURE_HEADER])
    validate(bundle)
    assert status["subscription"]["valueReference"]["reference"].endswith(f"/Subscription/{made['id']}")
    wait(lambda: fhir(ehr, "GET", f"/fhir/Subscription/{made['id']}")["status"] == "active", "active")
    wait(lambda: notifications(receiver, hook, "heartbeat"), "a heartbeat")

    # The referrer cancels its referral: one event notification naming the Task, id only.
    task = entries(fhir(ehr, "POST", "/fhir", referral_bundle(ehr.id)))["Task"]["resource"]
    fhir(ehr, "PATCH", f"/fhir/Task/{task['id']}", {
        "resourceType": "Task", "status": "cancelled",
        "statusReason": c.concept(c.STATUS_REASON_SYSTEM, "no-longer-needed")})

    def about_the_task():
        return [(r, b, st) for r, b, st in notifications(receiver, hook, "event-notification")
                if b["entry"][0]["resource"]["parameter"][-1]["part"][2]["valueReference"]["reference"]
                == f"Task/{task['id']}"]
    request, bundle, status = wait(about_the_task, "the notification of the cancellation")[-1]
    signing.verify(secret, request.body, request.headers[signing.SIGNATURE_HEADER])
    validate(bundle)
    assert bundle["type"] == "history"
    event = {p["name"]: p for p in status["notification-event"]["part"]}
    number = int(event["event-number"]["valueString"])
    assert 1 <= number <= int(status["events-since-subscription-start"]["valueString"])
    assert "resource" not in bundle["entry"][1]  # id-only: no Task content travels

    # Another agency's subscription is unknown to it; its own search is empty.
    clinic = agencies["clinic"]
    assert fhir(clinic, "GET", f"/fhir/Subscription/{made['id']}", status=404)["issue"][0]["details"][
        "coding"][0]["code"] == "not_found"
    assert fhir(clinic, "GET", "/fhir/Subscription")["entry"] == []
    assert [e["resource"]["id"] for e in fhir(ehr, "GET", "/fhir/Subscription?status=active")["entry"]] == [
        made["id"]]

    off = fhir(ehr, "PATCH", f"/fhir/Subscription/{made['id']}",
               [{"op": "replace", "path": "/status", "value": "off"}],
               headers={"Content-Type": "application/json-patch+json"})
    assert off["status"] == "off"
    deleted = ehr.request("DELETE", f"/fhir/Subscription/{made['id']}")
    assert deleted.status_code == 204, deleted.text
    fhir(ehr, "GET", f"/fhir/Subscription/{made['id']}", status=404)


def test_a_smart_backend_token_works_on_fhir_within_its_scopes_only(agencies, network):
    ehr = agencies["clinic"]  # a referrer whose admin registers its own back-end clients
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": "ehr-1"}
    client = ehr.ok("POST", f"/v1/agencies/{ehr.id}/smart-clients", {
        "name": "northside-ehr", "jwks": {"keys": [jwk]}, "scopes": ["system/Task.rs"]})
    token_url = network.base_url + "/fhir/auth/token"
    now = int(time.time())
    assertion = jwt.encode({"iss": client["client_id"], "sub": client["client_id"], "aud": token_url,
                            "exp": now + 240, "jti": uuid.uuid4().hex}, key, algorithm="RS384",
                           headers={"kid": "ehr-1"})
    granted = ehr.http.post(token_url, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion, "scope": "system/Task.rs"}, timeout=30)
    assert granted.status_code == 200, granted.text
    smart = Client(network.base_url, {"id": ehr.id, "api_key": granted.json()["access_token"]})

    assert fhir(smart, "GET", f"/fhir/Task?requester=Organization/{ehr.id}")["type"] == "searchset"
    for method, path, body in (("GET", "/fhir/Subscription", None),
                               ("POST", "/fhir", referral_bundle(ehr.id)),
                               ("GET", f"/fhir/ServiceRequest/{uuid.uuid4()}", None)):
        outcome = fhir(smart, method, path, body, status=403)
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["details"]["coding"][0]["code"] == "forbidden"
