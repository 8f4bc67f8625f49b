"""The gateway speaks each message with the owning service's schema: what a service answers
renders, and what a service or its database would choke on is refused by name at both ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.bodies import load_query
from gateway.entrypoint import render
from gateway.routes import ROUTES, ROUTES_BY_OPERATION
from services.consent import schemas as consent
from services.kit.errors import InvalidRequest
from services.kit.messages import load
from services.matching import schemas as matching
from services.notifications.domain.delivery import Attempt, Delivery
from services.notifications.schemas import DeliveryPageSchema
from services.referrals import schemas as referrals

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PARTICIPANT = "3f2b8e0a-6c1d-4e5f-9a7b-1c2d3e4f5a6b"
CONSENT = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
REFERRAL = {"participant_id": PARTICIPANT, "consent_id": CONSENT, "reason": "peer support",
            "needs": {"languages": ["en"]}}


def query(text: str) -> Request:
    return Request(EnvironBuilder(method="GET", path="/v1/audit/ledger", query_string=text).get_environ())


def invalid_fields(schema, data) -> set[str]:
    with pytest.raises(InvalidRequest) as caught:
        load(schema, data)
    return set(caught.value.errors)


def test_every_body_and_query_the_gateway_checks_is_the_services_own_or_its_own():
    for route in ROUTES:
        for schema in (route.request, route.query, route.response):
            if schema is not None:
                assert schema.__module__ in {"gateway.schemas", "gateway.people_schemas",
                                             "gateway.smart_schemas",
                                             "services.consent.schemas",
                                             "services.referrals.schemas", "services.matching.schemas",
                                             "services.notifications.schemas",
                                             "services.engagement.schemas",
                                             "services.outcomes.schemas"}, route.operation


def test_the_delivery_log_renders_each_attempt_as_the_service_sends_it():
    delivery = Delivery("d-1", "a-1", "webhook", "e-1", "match.waitlisted", "sent", None,
                        attempts=[Attempt(1, T0, "retryable_error", 503, "HTTP 503"),
                                  Attempt(2, T0, "sent", 200)])
    sent = DeliveryPageSchema().dump({"items": [{**delivery.to_log_entry(), "created_at": T0.isoformat()}],
                                      "next_page": None})
    shown = render(ROUTES_BY_OPERATION["list_notifications"], sent)
    item = json.loads(shown)["items"][0]
    assert [a["outcome"] for a in item["attempts"]] == ["retryable_error", "sent"]
    assert item["attempts"][0] == {"number": 1, "at": T0.isoformat(), "outcome": "retryable_error",
                                   "http_status": 503, "error": "HTTP 503"}
    assert "agency_id" not in item


@pytest.mark.parametrize("location", [{"lat": 0.0}, {"lon": 0.0}])
def test_a_mentor_patch_with_half_a_location_names_the_missing_coordinate(location):
    missing = "location.lon" if "lat" in location else "location.lat"
    assert invalid_fields(matching.MentorPatchRequest(), {"location": location}) == {missing}
    with pytest.raises(ValidationError) as caught:
        ROUTES_BY_OPERATION["update_mentor"].request().load({"location": location})
    assert caught.value.messages == {"location": {missing.split(".")[1]: ["Give lat and lon together."]}}


def test_a_mentor_patch_may_move_the_mentor():
    moved = load(matching.MentorPatchRequest(), {"location": {"lat": 0.0, "lon": 0.0}})
    assert moved == {"location": {"lat": 0.0, "lon": 0.0}}


@pytest.mark.parametrize("participant_id", [PARTICIPANT + "0", "p" * 37, "participant-1", ""])
def test_a_participant_id_that_was_never_issued_is_refused_by_name(participant_id):
    referral = {**REFERRAL, "participant_id": participant_id}
    assert invalid_fields(referrals.ReferralCreateRequest(), referral) == {"participant_id"}
    with pytest.raises(ValidationError) as caught:
        ROUTES_BY_OPERATION["create_referral"].request().load(referral)
    assert set(caught.value.messages) == {"participant_id"}
    decision = {"discloser": "a-1", "recipient": {"agency_id": "a-2", "kind": "peer_group"},
                "purpose": "treatment", "data_classes": ["contact"], "participant_id": participant_id}
    assert invalid_fields(consent.DecisionRequest(), decision) == {"participant_id"}


def test_an_issued_participant_id_passes():
    assert load(referrals.ReferralCreateRequest(), REFERRAL)["participant_id"] == PARTICIPANT


@pytest.mark.parametrize("text,field", [("participant=%00", "participant"),
                                        (f"participant={PARTICIPANT}%00", "participant"),
                                        ("page=1%002", "page")])
def test_a_nul_byte_in_the_ledger_query_is_refused_by_name(text, field):
    with pytest.raises(ValidationError) as caught:
        load_query(query(text), ROUTES_BY_OPERATION["get_ledger"].query())
    assert set(caught.value.messages) == {field}
    assert invalid_fields(consent.LedgerFilters(), query(text).args.to_dict()) == {field}


def test_a_nul_byte_anywhere_in_a_body_is_refused_naming_each_field():
    referral = {**REFERRAL, "reason": "peer\x00support",
                "needs": {"languages": ["en"], "lived_experience": ["ok", "opi\x00ids"]}}
    assert invalid_fields(referrals.ReferralCreateRequest(), referral) == {
        "reason", "needs.lived_experience.1"}
    with pytest.raises(ValidationError) as caught:
        ROUTES_BY_OPERATION["create_referral"].request().load(referral)
    assert set(caught.value.messages) == {"reason", "needs.lived_experience.1"}


def test_a_nul_byte_in_a_field_name_is_refused_too():
    # Named by where it stands, never echoed: a NUL must not travel back in an error body.
    assert invalid_fields(referrals.ReferralCancelRequest(), {"reason": "moved", "x\x00": 1}) == {"_schema"}


def test_the_settings_read_shows_the_same_shape_as_the_put_without_the_secret():
    put = ROUTES_BY_OPERATION["put_notification_settings"]
    get = ROUTES_BY_OPERATION["get_notification_settings"]
    assert (get.method, get.path, get.response) == ("GET", put.path, put.response)
    view = {"agency_id": "a-1", "webhook_url": None, "email": "intake@example.org", "phone": None,
            "language": "en", "quiet_hours": None, "channels": {"email": ["match.proposed"]},
            "webhook_secret_set": False}
    assert json.loads(render(get, view)) == view
