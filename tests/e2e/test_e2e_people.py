"""A person signs in on the real network and refers a participant as their agency, then signs out.

The processes run on real time: TOTP codes are computed for now (and the next step, since a step
is accepted once), as the person's authenticator app would show them.
"""

from __future__ import annotations

import time

import pyotp
import pytest

from network.processes import Client
from tests.harness.journeys import grant_consent, refer, referral

pytestmark = pytest.mark.e2e
PASSWORD = "a long pass phrase for the clinic"


@pytest.fixture(scope="module")
def clinic(network, operator) -> Client:
    return Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Northside Clinic", "kind": "clinic", "roles": ["referrer", "admin"]}))


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
