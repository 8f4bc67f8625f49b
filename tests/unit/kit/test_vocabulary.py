"""The one rule for each shared kind of value: ids, emails, phones, language tags, places, text."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from services.kit import vocabulary as v
from services.kit.messages import StrictSchema


class Sample(Schema):
    participant_id = v.uuid_id()
    agency_id = v.identifier()
    email = v.email()
    phone = v.phone()
    language = v.language()
    availability = v.slots(at_least=1)
    location = v.location()
    reason = v.text(20)


def errors_of(data: dict) -> dict:
    try:
        Sample().load(data)
    except ValidationError as exc:
        return exc.messages
    return {}


@pytest.mark.parametrize("data", [
    {"participant_id": "3f2b8e0a-6c1d-4e5f-9a7b-1c2d3e4f5a6b"}, {"agency_id": "a" * 64},
    {"email": "intake@example.org"}, {"email": "a.b+c@sub.example-clinic.org"},
    {"phone": "+15555550100"}, {"language": "es"}, {"language": "en-US"},
    {"availability": ["mon-evening"]}, {"location": {"lat": -90, "lon": 180}},
    {"reason": "  moved away"},
])
def test_values_by_the_rule_pass(data):
    assert errors_of(data) == {}


@pytest.mark.parametrize("data,field", [
    ({"participant_id": "3f2b8e0a-6c1d-4e5f-9a7b-1c2d3e4f5a6b0"}, "participant_id"),  # 37 characters
    ({"participant_id": "p-1"}, "participant_id"),
    ({"agency_id": "a" * 65}, "agency_id"), ({"agency_id": ""}, "agency_id"),
    ({"agency_id": "a\x00"}, "agency_id"),
    ({"email": "ana-at-example"}, "email"), ({"email": "ana@localhost"}, "email"),
    ({"email": "ana@example.org\n"}, "email"), ({"email": "a" * 65 + "@example.org"}, "email"),
    ({"phone": "5555550100"}, "phone"), ({"phone": "+15555550100\n"}, "phone"),
    ({"language": "Spanish!"}, "language"), ({"language": "en\n"}, "language"),
    ({"availability": []}, "availability"), ({"availability": ["mon-brunch"]}, "availability"),
    ({"location": {"lat": 91, "lon": 0}}, "location"), ({"location": {"lat": 0}}, "location"),
    ({"location": {"lat": 0, "lon": 0, "alt": 3}}, "location"),
    ({"reason": "   "}, "reason"), ({"reason": "x" * 21}, "reason"), ({"reason": "a\x00b"}, "reason"),
])
def test_values_against_the_rule_are_refused_by_name(data, field):
    assert field in errors_of(data)


def test_half_a_location_is_refused_even_when_the_load_is_partial():
    with pytest.raises(ValidationError) as caught:
        Sample(partial=True).load({"location": {"lon": 10}})
    assert caught.value.messages == {"location": {"lat": ["Give lat and lon together."]}}


def test_email_and_phone_checks_for_domain_code_are_the_same_rule():
    assert v.is_email("intake@example.org") and not v.is_email("intake@example")
    assert not v.is_email("x" * 250 + "@example.org")  # over 254 characters
    assert v.is_phone("+442071838750") and not v.is_phone("+0123456") and not v.is_phone("+1555\n")


def test_nul_paths_name_every_string_holding_a_nul_byte():
    data = {"a": "ok", "b": {"c": ["fine", "bad\x00"]}, "d\x00": 1, "e": 3}
    assert v.nul_paths(data) == ["b.c.1", "_schema"]  # a bad key is named by where it stands
    assert v.nul_paths(["\x00"]) == ["0"] and v.nul_paths("\x00") == ["_schema"]


def test_a_strict_schema_refuses_nul_bytes_before_anything_else():
    class Note(StrictSchema):
        text = v.text(100)

    with pytest.raises(ValidationError) as caught:
        Note().load({"text": "hi\x00", "other": "there"})
    assert caught.value.messages == {"text": [v.NUL_MESSAGE]}
