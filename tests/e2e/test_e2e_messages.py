"""Messages through the real front door on PostgreSQL: what fuzzing the network turned up.

The gateway checks and renders every message with the owning service's own schema, so what a
service sends always renders, and what would break a service or its database is a 422 naming
the field, never a 500.
"""

from __future__ import annotations

import uuid

import pytest

from network.processes import Client
from tests.harness.journeys import grant_consent, mentor, refer, wait
from tests.support import HttpReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clinic(network, operator):
    """A referrer of its own, so its delivery log and settings hold only this module's doings."""
    return Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Lakeside Clinic", "kind": "clinic", "roles": ["referrer"]}))


@pytest.fixture(scope="module")
def clinic_webhook(clinic):
    receiver = HttpReceiver(lambda _request: (200, b"{}")).start()
    yield receiver
    receiver.stop()


def _invalid_fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_request"
    return set(problem["errors"])


def test_an_agency_reads_back_its_notification_settings_without_the_secret(clinic, clinic_webhook):
    unset = clinic.ok("GET", "/v1/notification-settings")
    assert unset["agency_id"] == clinic.id and unset["webhook_url"] is None
    assert unset["webhook_secret_set"] is False
    put = clinic.ok("PUT", "/v1/notification-settings",
                    {"webhook_url": clinic_webhook.url + "/hooks", "email": "intake@lakeside.example.org"})
    assert put["webhook_secret"]  # shown once, when first set
    read = clinic.ok("GET", "/v1/notification-settings")
    assert "webhook_secret" not in read and read["webhook_secret_set"] is True
    assert {k: read[k] for k in ("webhook_url", "email", "language")} == {
        "webhook_url": clinic_webhook.url + "/hooks", "email": "intake@lakeside.example.org",
        "language": "en"}


def test_a_notified_agency_reads_its_delivery_log_with_every_attempt(clinic, clinic_webhook):
    clinic.ok("PUT", "/v1/notification-settings", {"webhook_url": clinic_webhook.url + "/hooks"})
    consent = grant_consent(clinic, tag="Log")
    referral = refer(clinic, consent, languages=("xh",))  # no mentor speaks it: waitlisted

    def delivered():
        response = clinic.request("GET", "/v1/notifications")
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["attempts"]]

    sent = wait(delivered, "a delivery to the clinic's webhook", timeout=45)
    assert referral["id"] and sent[0]["channel"] == "webhook"
    attempt = sent[0]["attempts"][0]
    assert attempt["number"] == 1 and attempt["outcome"] == "sent" and attempt["at"]
    everything = clinic.ok("GET", "/v1/notifications")["items"]
    only_sent = clinic.ok("GET", "/v1/notifications?status=sent")["items"]
    assert only_sent and {item["status"] for item in only_sent} == {"sent"}
    assert [i["id"] for i in only_sent] == [i["id"] for i in everything if i["status"] == "sent"]
    assert clinic.request("GET", "/v1/notifications?status=lost").status_code == 422


def test_a_mentor_location_needs_both_coordinates(agencies):
    peers = agencies["peers_b"]
    created = peers.ok("POST", "/v1/mentors", mentor(950, languages=("zu",)),
                       headers={"Idempotency-Key": str(uuid.uuid4())})
    half = peers.request("PATCH", f"/v1/mentors/{created['id']}", {"location": {"lat": 0.0}})
    assert "location.lon" in _invalid_fields(half)
    assert peers.ok("GET", "/v1/mentors")["items"]  # matching still answers
    whole = peers.ok("PATCH", f"/v1/mentors/{created['id']}", {"location": {"lat": 0.0, "lon": 0.0}})
    assert whole["location"] == {"lat": 0.0, "lon": 0.0}


def test_a_participant_id_longer_than_any_issued_is_refused_by_name(clinic):
    consent = grant_consent(clinic, tag="Long")
    body = {"participant_id": consent["participant_id"] + "0", "consent_id": consent["id"],
            "reason": "peer support", "needs": {"languages": ["en"]}}
    response = clinic.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert _invalid_fields(response) == {"participant_id"}


@pytest.mark.parametrize("path,field", [
    ("/v1/audit/ledger?participant=%00", "participant"),
    ("/v1/audit/ledger?page=1%002", "page"),
])
def test_a_nul_byte_in_a_query_is_refused_by_name(operator, path, field):
    assert _invalid_fields(operator.request("GET", path)) == {field}


def test_a_nul_byte_in_a_body_is_refused_by_name(clinic):
    consent = grant_consent(clinic, tag="Nul")
    body = {"participant_id": consent["participant_id"], "consent_id": consent["id"],
            "reason": "peer\x00support", "needs": {"languages": ["en"], "lived_experience": ["opi\x00ids"]}}
    response = clinic.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert _invalid_fields(response) == {"reason", "needs.lived_experience.0"}
