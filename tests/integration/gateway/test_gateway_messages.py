"""The gateway refuses by name what a service or its database would choke on, before any service
is asked (none runs here: a request that got through would be a 503)."""

from __future__ import annotations

import pytest

from tests.integration.gateway.agencies import insert_agency

PARTICIPANT = "3f2b8e0a-6c1d-4e5f-9a7b-1c2d3e4f5a6b"
CONSENT = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"


@pytest.fixture
def keys(gateway, gateway_config) -> dict[str, str]:
    """A referrer's and a coordinator's API keys."""
    specs = {"referrer": ("Lakeside Clinic", "clinic"), "coordinator": ("Bridge Peers", "peer_group")}
    return {role: insert_agency(gateway_config, name, kind, [role])[1]
            for role, (name, kind) in specs.items()}


def invalid_fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"
    return set(response.json()["errors"])


def test_a_nul_byte_in_the_ledger_query_is_refused_by_name(gateway, admin_key):
    assert invalid_fields(gateway.call("GET", "/v1/audit/ledger?participant=%00", admin_key)) == {
        "participant"}


def test_half_a_mentor_location_is_refused_by_name(gateway, keys):
    response = gateway.call("PATCH", "/v1/mentors/m-1", keys["coordinator"], json={"location": {"lat": 0.0}})
    assert invalid_fields(response) == {"location.lon"}


def test_a_participant_id_longer_than_any_issued_is_refused_by_name(gateway, keys):
    body = {"participant_id": PARTICIPANT + "0", "consent_id": CONSENT, "reason": "peer support",
            "needs": {"languages": ["en"]}}
    assert invalid_fields(gateway.create("/v1/referrals", keys["referrer"], json=body)) == {
        "participant_id"}


def test_a_nul_byte_in_a_body_is_refused_by_name(gateway, keys):
    body = {"email": "intake@example.org", "quiet_hours": {"start": "21:00", "end": "07:00",
                                                           "timezone": "America/New_York\x00"}}
    response = gateway.call("PUT", "/v1/notification-settings", keys["referrer"], json=body)
    assert invalid_fields(response) == {"quiet_hours.timezone"}


@pytest.mark.parametrize("role", ["referrer", "coordinator"])
def test_any_agency_may_ask_for_its_notification_settings(gateway, keys, role):
    response = gateway.call("GET", "/v1/notification-settings", keys[role])
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
