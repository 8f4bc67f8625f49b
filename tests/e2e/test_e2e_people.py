"""A person signs in on the real network and refers a participant as their agency, then signs out.

The processes run on real time: TOTP codes are computed for now (and the next step, since a step
is accepted once), as the person's authenticator app would show them.
"""

from __future__ import annotations

import time

import pyotp
import pytest

from network.processes import Client
from tests.harness.journeys import accept_proposal, grant_consent, mentor, refer, referral

pytestmark = pytest.mark.e2e
PASSWORD = "a long pass phrase for the clinic"


@pytest.fixture(scope="module")
def clinic(network, operator) -> Client:
    return Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Northside Clinic", "kind": "clinic", "roles": ["referrer", "admin"]}))


@pytest.fixture(scope="module")
def peers(network, operator) -> Client:
    """A peer group admitted now, with mentors, so that it is proposed for new referrals."""
    group = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Harbour Peers", "kind": "peer_group", "roles": ["coordinator", "admin"]}))
    for n in range(2):
        group.ok("POST", "/v1/mentors", mentor(300 + n))
    return group


def signed_in(network, agency: Client, name: str, email: str, roles: list[str]) -> tuple[Client, str]:
    """A person of ``agency`` invited, enrolled and signed in: their client and ``person:<id>``."""
    invited = agency.ok("POST", f"/v1/agencies/{agency.id}/people",
                        {"name": name, "email": email, "roles": roles})
    enrolment = agency.ok("POST", "/v1/sessions/accept-invitation", {
        "invitation_token": invited["invitation_token"], "password": PASSWORD}, key="")
    totp = pyotp.TOTP(enrolment["totp_secret"])
    credentials = {"email": email, "password": PASSWORD}
    agency.ok("POST", "/v1/sessions/totp", {**credentials, "code": totp.at(time.time())}, key="")
    session = agency.ok("POST", "/v1/sessions", {**credentials, "code": totp.at(time.time() + 30)}, key="")
    return Client(network.base_url, {"id": agency.id, "api_key": session["token"]}), f"person:{invited['id']}"


def test_a_signed_in_referrer_refers_for_their_agency_until_they_sign_out(network, clinic):
    invited = clinic.ok("POST", f"/v1/agencies/{clinic.id}/people", {
        "name": "Robin Okafor", "email": "robin.okafor@northside.example", "roles": ["referrer"]})
    enrolment = clinic.ok("POST", "/v1/sessions/accept-invitation", {
        "invitation_token": invited["invitation_token"], "password": PASSWORD}, key="")
    totp = pyotp.TOTP(enrolment["totp_secret"])
    credentials = {"email": "robin.okafor@northside.example", "password": PASSWORD}
    clinic.ok("POST", "/v1/sessions/totp", {**credentials, "code": totp.at(time.time())}, key="")
    session = clinic.ok("POST", "/v1/sessions", {**credentials, "code": totp.at(time.time() + 30)}, key="")

    person = Client(network.base_url, {"id": clinic.id, "api_key": session["token"]})
    consent = grant_consent(person, tag="Person")
    created = refer(person, consent)
    # The referral is the agency's: its own key reads it too.
    assert referral(clinic, created["id"])["id"] == created["id"]
    assert person.request("GET", f"/v1/agencies/{clinic.id}/people").status_code == 403

    assert person.request("DELETE", "/v1/sessions/current").status_code == 204
    assert person.request("GET", f"/v1/referrals/{created['id']}").status_code == 401


def ledger_rows(admin: Client, **filters: str) -> list[dict]:
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    return admin.ok("GET", f"/v1/audit/ledger?{query}")["items"]


def test_the_ledger_names_the_person_and_agency_behind_each_decision_disclosure_and_read(
        network, clinic, peers):
    referrer, referrer_label = signed_in(network, clinic, "Sam Adeyemi", "sam.adeyemi@northside.example",
                                         ["referrer"])
    coordinator, coordinator_label = signed_in(network, peers, "Kit Moreau", "kit.moreau@harbour.example",
                                               ["coordinator"])
    consent = grant_consent(referrer, tag="Ledgered", classes=(), agencies=(peers.id,))
    created = refer(referrer, consent, languages=("en",))
    accept_proposal([peers], referrer, created["id"])
    handoff = coordinator.ok("GET", f"/v1/referrals/{created['id']}/handoff")
    assert handoff["participant"]["given_name"].startswith("CanaryLedgered")

    by_referrer = ledger_rows(clinic, actor=referrer_label, participant=consent["participant_id"])
    assert {row["action"] for row in by_referrer} >= {"consent.granted", "decision", "disclosure"}
    assert all((row["actor"], row["agency_id"]) == (referrer_label, clinic.id) for row in by_referrer)

    by_coordinator = ledger_rows(peers, actor=coordinator_label)
    read = [row for row in by_coordinator if row["action"] == "access"]
    assert [(row["subject"], row["agency_id"]) for row in read] == [(f"handoff:{created['id']}", peers.id)]
    [decision] = [row for row in by_coordinator if row["action"] == "decision"]
    assert (decision["permit"], decision["asking"], decision["agency_id"]) == (True, peers.id, clinic.id)
    # The person is named, never their email or name.
    assert "harbour.example" not in str(by_coordinator) and "Moreau" not in str(by_coordinator)
