import pytest

from services.kit import contract
from services.kit.contract import CATALOG, ContractError, EventCatalog, EventType, new_event, parse_event

EXPIRED = {"consent_id": "c-1", "participant_id": "p-1"}


def test_round_trip_keeps_every_envelope_field():
    event = new_event("consent.expired", EXPIRED, source="consent", correlation_id="corr-1")
    parsed = parse_event(event.to_message())
    assert parsed == event
    assert parsed.version == 1 and parsed.correlation_id == "corr-1"


def test_every_catalog_entry_has_a_version_and_a_schema():
    for name, spec in CATALOG.items():
        assert spec.name == name and spec.version >= 1
        assert spec.schema().fields


@pytest.mark.parametrize("type_,payload", [
    ("consent.exploded", EXPIRED),                                   # unknown type
    ("consent.expired", {"consent_id": "c-1"}),                      # missing field
    ("consent.expired", {**EXPIRED, "given_name": "Ana"}),           # a field not in the contract
    ("referral.status_changed", {"referral_id": "r"}),
])
def test_publishing_an_invalid_event_is_a_programming_error(type_, payload):
    with pytest.raises(ContractError):
        new_event(type_, payload, source="test")


@pytest.mark.parametrize("mutate", [
    lambda m: m.pop("id"),
    lambda m: m.update(version=0),
    lambda m: m.update(version=99),
    lambda m: m.update(occurred_at="yesterday"),
    lambda m: m.update(payload="nope"),
])
def test_consumers_reject_bad_envelopes(mutate):
    message = new_event("consent.expired", EXPIRED, source="consent").to_message()
    mutate(message)
    with pytest.raises(ContractError):
        parse_event(message)


def test_old_versions_are_upcast_not_special_cased(monkeypatch):
    # Pretend consent.expired is at version 2, which renamed participant_id to person_id.
    from marshmallow import fields

    class ExpiredV2(contract.PayloadSchema):
        consent_id = fields.String(required=True)
        person_id = fields.String(required=True)

    def v1_to_v2(payload):
        payload = dict(payload)
        payload["person_id"] = payload.pop("participant_id")
        return payload

    expired_v2 = EventType("consent.expired", 2, ExpiredV2, {1: v1_to_v2})
    monkeypatch.setattr(contract, "CATALOG", EventCatalog(lambda: [CATALOG["consent.granted"], expired_v2]))
    old = {**new_event("consent.granted", {
        "consent_id": "c", "participant_id": "p", "disclosers": [], "recipients": {},
        "purposes": [], "data_classes": [], "valid_from": "2026-01-01T00:00:00Z",
    }, source="consent").to_message(), "type": "consent.expired", "version": 1, "payload": EXPIRED}
    parsed = parse_event(old)
    assert parsed.version == 2
    assert parsed.payload == {"consent_id": "c-1", "person_id": "p-1"}
