"""Granting a consent: every Part 2 element is required, and all problems come back at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.consent.domain import (
    REVOCATION_STATEMENT,
    Consent,
    ConsentGranted,
    consent_summary,
)
from services.kit.contract import new_event, parse_event
from services.kit.errors import InvalidRequest


@pytest.fixture
def grant_errors(now):
    """The field errors of a refused grant request."""

    def errors(body: dict, participant_id: str = "participant-1") -> dict:
        with pytest.raises(InvalidRequest) as caught:
            Consent.grant(body, consent_id="consent-1", participant_id=participant_id,
                          holder="hospital-1", now=now)
        return caught.value.errors

    return errors


def test_complete_request_grants_an_active_consent_at_version_1(make_consent):
    consent = make_consent()

    assert consent.status == "active"
    assert consent.version == 1
    assert consent.participant_id == "participant-1"
    assert consent.participant["given_name"] == "Ana"
    assert consent.revocation_statement == REVOCATION_STATEMENT
    assert consent.snapshot()["revocation_statement"] == REVOCATION_STATEMENT


def test_empty_request_names_every_missing_element_at_once(grant_errors):
    errors = grant_errors({}, participant_id="")

    for field in ("participant_id", "participant", "disclosers", "recipients", "purposes",
                  "data_classes", "valid_from", "valid_until", "signature"):
        assert field in errors, field


def test_missing_nested_elements_are_named_by_field_path(request_body, grant_errors):
    del request_body["participant"]["family_name"]
    request_body["signature"] = {"signed_by": "representative"}
    request_body["recipients"]["agencies"][0] = {"id": "peer-1"}
    request_body["purposes"] = ["marketing"]

    errors = grant_errors(request_body)

    assert set(errors) == {
        "participant.family_name", "signature.signer_name", "signature.signed_at",
        "signature.method", "signature.authority", "recipients.agencies.0.kind", "purposes.0",
    }


def test_invalid_values_are_refused(request_body, grant_errors, now):
    request_body["participant"] |= {"birth_date": "1990-13-40", "phone": "555", "email": "ana"}
    request_body["valid_from"] = "2026-11-01T00:00:00"  # no timezone
    request_body["data_classes"] = ["contact", "shoe-size"]
    request_body["recipients"]["classes"] = ["everyone"]
    request_body["signature"]["signed_at"] = (now + timedelta(days=1)).isoformat()

    errors = grant_errors(request_body)

    assert set(errors) == {
        "participant.birth_date", "participant.phone", "participant.email", "valid_from",
        "data_classes.1", "recipients.classes.0", "signature.signed_at",
    }


def test_unknown_fields_are_refused_rather_than_stored(request_body, grant_errors):
    request_body["participant"]["diagnosis"] = "opioid use disorder"
    request_body["notes"] = "free text"

    assert set(grant_errors(request_body)) == {"participant.diagnosis", "notes"}


def test_recipients_need_at_least_one_agency_or_class(request_body, grant_errors):
    request_body["recipients"] = {"agencies": [], "classes": []}

    assert grant_errors(request_body) == {
        "recipients": ["name at least one recipient agency or class"]
    }


def test_agencies_must_carry_their_kind(request_body, grant_errors):
    request_body["recipients"] = {"agencies": ["peer-1"]}

    assert "recipients.agencies.0" in grant_errors(request_body)


def test_either_valid_until_or_an_expiring_event(request_body, grant_errors):
    del request_body["valid_until"]
    assert "valid_until" in grant_errors(request_body)

    request_body["valid_until"] = "2027-11-01T00:00:00Z"
    request_body["expires_on"] = "end-of-treatment"
    assert "expires_on" in grant_errors(request_body)

    request_body["valid_until"] = "2026-10-01T00:00:00Z"
    del request_body["expires_on"]
    assert grant_errors(request_body) == {"valid_until": ["must be after valid_from"]}


def test_end_of_treatment_replaces_valid_until(make_consent):
    consent = make_consent(valid_until=None, expires_on="end-of-treatment")

    assert consent.valid_until is None
    assert consent.expires_on == "end-of-treatment"


def test_representative_must_state_their_authority(request_body, grant_errors, now):
    request_body["signature"] |= {"signed_by": "representative", "signer_name": "Luis Ruiz"}
    assert grant_errors(request_body) == {"signature.authority": ["missing"]}

    request_body["signature"]["authority"] = "legal guardian"
    consent = Consent.grant(request_body, consent_id="c", participant_id="p", holder="hospital-1", now=now)
    assert consent.signature.authority == "legal guardian"


def test_granting_records_an_event_that_fits_the_contract(make_consent):
    consent = make_consent()

    [event] = consent.events
    assert isinstance(event, ConsentGranted)
    message = new_event(event.type, event.payload(), source="consent").to_message()
    payload = parse_event(message).payload
    assert payload["recipients"] == {"agencies": ["peer-1", "clinic-2"], "classes": ["peer_group"]}
    assert payload["valid_until"] == "2027-11-01T00:00:00Z"
    assert "Ana" not in str(payload)


def test_snapshot_and_summary_hold_no_personal_details(make_consent):
    consent = make_consent()

    for view in (consent.snapshot(), consent_summary(consent)):
        text = str(view)
        assert "Ana" not in text and "Ruiz" not in text and "555" not in text
    assert consent.personal()["signer_name"] == "Ana Ruiz"


def test_a_stored_consent_loads_back_the_same(make_consent, now):
    consent = make_consent()
    consent.revoke(at=now, recipients={"agencies": ["clinic-2"]})

    loaded = Consent.from_snapshot(consent.snapshot(), consent.personal(), consent.versions)

    assert loaded.snapshot() == consent.snapshot()
    assert loaded.versions == consent.versions
    assert loaded.participant == consent.participant
    assert loaded.events == []
