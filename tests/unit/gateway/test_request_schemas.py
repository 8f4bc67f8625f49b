"""Requests are validated strictly: the docs/api.md examples pass, any fault names its field."""

from __future__ import annotations

import copy

import pytest
from marshmallow import ValidationError

from gateway.schemas import AgencyCreateRequest
from services.consent.schemas import ConsentCreateRequest
from services.consent.schemas import RevokeRequest as ConsentRevokeRequest
from services.matching.schemas import DeclineRequest as MatchDeclineRequest
from services.matching.schemas import MatchListQuery, MentorCreateRequest, MentorPatchRequest
from services.notifications.schemas import NotificationSettingsRequest
from services.referrals.schemas import (
    ReferralCancelRequest,
    ReferralCreateRequest,
    ReferralListQuery,
    ReferralStatusRequest,
)

CONSENT = {
    "participant": {"given_name": "Ana", "family_name": "Ruiz", "birth_date": "1990-04-02",
                    "phone": "+15555550100", "email": "ana@example.org",
                    "preferred_language": "es"},
    "disclosers": ["agency-1"],
    "recipients": {"agencies": ["agency-2"], "classes": ["peer_group"]},
    "purposes": ["peer-support-referral"],
    "data_classes": ["demographics", "contact", "referral-reason"],
    "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2027-11-01T00:00:00Z",
    "signature": {"signed_by": "participant", "signer_name": "Ana Ruiz",
                  "signed_at": "2026-11-01T10:00:00Z", "method": "electronic"},
}
REFERRAL = {
    "participant_id": "3f2b8e0a-6c1d-4e5f-9a7b-1c2d3e4f5a6b",
    "consent_id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", "reason": "peer support after detox discharge",
    "urgency": "routine",
    "needs": {"languages": ["es", "en"], "mentor_gender": "female",
              "mentor_gender_required": False, "pathways": ["12-step"],
              "lived_experience": ["opioids"], "age": 36, "location": {"lat": 40.71, "lon": -74.0},
              "remote_ok": True, "availability": ["mon-evening", "sat-morning"]},
}
MENTOR = {
    "display_name": "Maria P.", "languages": ["es", "en"], "gender": "female", "age": 41,
    "pathways": ["12-step", "faith-based"], "lived_experience": ["opioids", "alcohol"],
    "location": {"lat": 40.73, "lon": -73.99}, "radius_km": 15, "remote_ok": True,
    "availability": ["mon-evening", "sat-morning"], "capacity": 3, "certified_until": "2027-06-30",
}
SETTINGS = {
    "webhook_url": "https://intake.example.org/hooks/network", "email": "intake@example.org",
    "language": "es",
    "quiet_hours": {"start": "21:00", "end": "07:00", "timezone": "America/New_York"},
}


def errors_of(schema, data) -> dict:
    with pytest.raises(ValidationError) as caught:
        schema.load(data)
    return caught.value.messages


def changed(base: dict, path: str, value) -> dict:
    """A deep copy of ``base`` with the dotted ``path`` set to ``value`` (or removed if ...)."""
    data = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is Ellipsis:
        del target[leaf]
    else:
        target[leaf] = value
    return data


@pytest.mark.parametrize(("schema", "example"), [
    (ConsentCreateRequest(), CONSENT), (ReferralCreateRequest(), REFERRAL),
    (MentorCreateRequest(), MENTOR), (NotificationSettingsRequest(), SETTINGS),
    (AgencyCreateRequest(), {"name": "St. Mary Hospital", "kind": "hospital",
                             "roles": ["referrer"]}),
    (ConsentRevokeRequest(), {"reason": "participant asked",
                              "recipients": {"agencies": ["agency-2"]}}),
    (ReferralCancelRequest(), {"reason": "admitted elsewhere"}),
    (ReferralStatusRequest(), {"status": "in-progress"}),
    (MatchDeclineRequest(), {"reason": "mentor on leave"}),
])
def test_the_api_examples_are_accepted(schema, example):
    schema.load(example)


def test_a_consent_missing_every_element_names_each_one():
    errors = errors_of(ConsentCreateRequest(), {})
    assert set(errors) == {"participant", "disclosers", "recipients", "purposes", "data_classes",
                           "valid_from", "valid_until", "signature"}


def test_a_consent_may_end_with_treatment_instead_of_a_date():
    loaded = ConsentCreateRequest().load(
        changed(changed(CONSENT, "valid_until", ...), "expires_on", "end-of-treatment"))
    assert loaded["expires_on"] == "end-of-treatment" and "valid_until" not in loaded


@pytest.mark.parametrize(("path", "value", "field"), [
    ("expires_on", "end-of-treatment", "expires_on"),  # both an end date and an event
    ("valid_until", "2026-10-01T00:00:00Z", "valid_until"),  # ends before it starts
    ("valid_until", "2027-11-01T00:00:00", "valid_until"),  # no time zone
    ("recipients", {"agencies": [], "classes": []}, "recipients"),
    ("recipients", {"classes": ["ngo"]}, "recipients"),
    ("purposes", "peer-support-referral", "purposes"),  # not a list
    ("purposes", ["marketing"], "purposes"),
    ("data_classes", [], "data_classes"),
    ("disclosers", [], "disclosers"),
    ("participant.birth_date", "02/04/1990", "participant"),
    ("participant.email", "ana-at-example", "participant"),
    ("participant.given_name", ..., "participant"),
    ("participant.ssn", "123-45-6789", "participant"),  # unknown nested field
    ("signature.signed_by", "representative", "signature"),  # without the relationship
    ("signature.method", "telepathy", "signature"),
    ("comment", "hello", "comment"),  # unknown top-level field
])
def test_consent_faults_are_named(path, value, field):
    assert field in errors_of(ConsentCreateRequest(), changed(CONSENT, path, value))


@pytest.mark.parametrize(("path", "value", "field"), [
    ("reason", "   ", "reason"),
    ("reason", ..., "reason"),
    ("urgency", "asap", "urgency"),
    ("participant_id", 42, "participant_id"),
    ("needs.languages", [], "needs"),
    ("needs.availability", ["mon-brunch"], "needs"),
    ("needs.pathways", ["astrology"], "needs"),
    ("needs.age", "thirty-six", "needs"),
    ("needs.location", {"lat": 91, "lon": 0}, "needs"),
    ("needs.diagnosis", "F11.20", "needs"),
    ("status", "requested", "status"),
])
def test_referral_faults_are_named(path, value, field):
    assert field in errors_of(ReferralCreateRequest(), changed(REFERRAL, path, value))


def test_urgency_defaults_to_routine():
    assert ReferralCreateRequest().load(changed(REFERRAL, "urgency", ...))["urgency"] == "routine"


@pytest.mark.parametrize("status", ["cancelled", "accepted", "paused", "", None])
def test_the_status_route_takes_only_what_a_peer_group_reports(status):
    assert "status" in errors_of(ReferralStatusRequest(), {"status": status})


@pytest.mark.parametrize("query", [ReferralListQuery(), MatchListQuery()])
def test_list_filters_reject_unknown_statuses_and_bad_pages(query):
    # Pages are the opaque cursors services hand out; only their shape is checked here.
    assert set(errors_of(query, {"status": "lost", "page": ""})) == {"status", "page"}
    assert query.load({}).get("page") is None  # the first page: no cursor is made up


def test_a_mentor_patch_takes_any_subset_of_fields():
    assert MentorPatchRequest().load({"capacity": 4, "active": False}) == {
        "capacity": 4, "active": False}


@pytest.mark.parametrize(("data", "field"), [
    ({}, "_schema"), ({"capacity": -1}, "capacity"), ({"capacity": "four"}, "capacity"),
    ({"nickname": "M"}, "nickname"), ({"availability": ["someday"]}, "availability"),
])
def test_a_mentor_patch_still_validates_what_it_names(data, field):
    assert field in errors_of(MentorPatchRequest(), data)


def test_a_new_mentor_needs_the_hard_constraints():
    errors = errors_of(MentorCreateRequest(), {"display_name": "Maria P."})
    assert {"languages", "location", "availability", "capacity", "certified_until"} <= set(errors)


@pytest.mark.parametrize(("path", "value", "field"), [
    ("webhook_url", "ftp://intake.example.org/hook", "webhook_url"),  # HTTPS-only is the service's rule
    ("quiet_hours.timezone", "Mars/Olympus_Mons", "quiet_hours"),
    ("quiet_hours.start", "9pm", "quiet_hours"),
    ("language", "Spanish!", "language"),
])
def test_notification_settings_faults_are_named(path, value, field):
    assert field in errors_of(NotificationSettingsRequest(), changed(SETTINGS, path, value))


def test_notification_settings_need_some_channel():
    assert "_schema" in errors_of(NotificationSettingsRequest(), {"language": "en"})


@pytest.mark.parametrize(("data", "field"), [
    ({"name": "Clinic", "kind": "hospital", "roles": ["coordinator"]}, "roles"),
    ({"name": "Clinic", "kind": "spa", "roles": ["referrer"]}, "kind"),
    ({"name": "Clinic", "kind": "clinic", "roles": []}, "roles"),
    ({"name": "", "kind": "clinic", "roles": ["referrer"]}, "name"),
])
def test_agency_faults_are_named(data, field):
    assert field in errors_of(AgencyCreateRequest(), data)


@pytest.mark.parametrize(("schema", "data", "field"), [
    (ConsentRevokeRequest(), {}, "reason"),
    (ConsentRevokeRequest(), {"reason": "asked", "recipients": {}}, "recipients"),
    (ReferralCancelRequest(), {"reason": ""}, "reason"),
    (ReferralCancelRequest(), {}, "reason_code"),
    (ReferralStatusRequest(), {"status": "on-hold"}, "reason_code"),
    (ReferralStatusRequest(), {"status": "failed", "reason_code": "relapse"}, "reason_code"),
    (MatchDeclineRequest(), {}, "reason_code"),
    (MatchDeclineRequest(), {"reason_code": "too far"}, "reason_code"),
])
def test_reasons_are_required_where_the_api_asks_for_them(schema, data, field):
    assert field in errors_of(schema, data)


def test_free_text_lived_experience_is_refused_with_the_allowed_codes():
    body = {"languages": ["en"], "lived_experience": ["fentanyl overdose"]}
    message = errors_of(ReferralCreateRequest(), {"needs": body})["needs"]["lived_experience"]
    assert "overdose-survivor" in str(message) and "opioids" in str(message)


@pytest.mark.parametrize("data", [
    {"reason_code": "capacity"}, {"reason": "moved away"}, {"reason_code": "other", "reason": "x"}])
def test_a_reason_code_or_words_suffice(data):
    for schema in (ReferralCancelRequest(), MatchDeclineRequest()):
        loaded = schema.load(data)
        assert (loaded["reason_code"], loaded["reason"]) == (data.get("reason_code"), data.get("reason"))
