"""Mentors and criteria are plain values that map field for field onto the event contract."""

from __future__ import annotations

from datetime import date

import pytest
from matching_builders import criteria, mentor

from services.matching.domain import Location, Mentor, ReferralCriteria
from services.referrals.catalog import ReferralRequestedV2

REQUESTED = {
    "referral_id": "referral-9", "referrer_agency_id": "agency-st-mary",
    "participant_id": "participant-3", "consent_id": "consent-5", "urgency": "urgent",
    "allowed": {"agencies": ["agency-harbor-peers"], "classes": ["peer_group"]},
    "criteria": {
        "languages": ["es", "en"], "mentor_gender": "female", "mentor_gender_required": True,
        "pathways": ["12-step"], "lived_experience": ["opioids"], "age_band": 35,
        "location": {"lat": 40.71, "lon": -74.0}, "remote_ok": False,
        "availability": ["mon-evening", "sat-morning"], "substance_use_shared": True,
    },
}


def test_criteria_read_a_referral_requested_payload_and_write_it_back():
    payload = ReferralRequestedV2().dump(ReferralRequestedV2().load(REQUESTED))
    read = ReferralCriteria.from_requested(payload)
    assert read.urgency == "urgent" and read.location == Location(40.71, -74.0)
    assert read.allowed_classes == {"peer_group"} and read.mentor_gender_required
    written = read.to_requested_fields() | {"participant_id": "participant-3",
                                           "consent_id": "consent-5"}
    assert _as_sets(ReferralRequestedV2().load(written)) == _as_sets(payload)


def _as_sets(value):
    # Matching treats every list of tags as a set: order carries no meaning.
    if isinstance(value, dict):
        return {k: _as_sets(v) for k, v in value.items()}
    return frozenset(value) if isinstance(value, list) else value


def test_criteria_fill_the_contract_defaults_for_missing_preferences():
    payload = {**REQUESTED, "criteria": {"languages": ["en"], "substance_use_shared": True}}
    read = ReferralCriteria.from_requested(ReferralRequestedV2().load(payload))
    assert read.remote_ok and read.location is None and read.age_band is None
    assert not read.pathways and not read.availability and read.mentor_gender is None


def test_mentor_round_trips_through_a_dict():
    original = mentor()
    assert Mentor.from_dict(original.to_dict()) == original
    assert Mentor.from_dict({**original.to_dict(), "unknown": 1}) == original


def test_tags_compare_case_insensitively():
    assert mentor(languages=[" ES", "en"]).languages == {"es", "en"}
    assert criteria(mentor_gender="Female").mentor_gender == "female"


def test_gender_requirement_without_a_preference_is_dropped():
    assert not criteria(mentor_gender=None, mentor_gender_required=True).mentor_gender_required


def test_capacity_left_and_age_band():
    assert mentor(capacity=3, caseload=1).capacity_left == 2
    assert mentor(capacity=1, caseload=4).capacity_left == 0
    assert mentor(age=39).age_band == 35 and mentor(age=None).age_band is None


@pytest.mark.parametrize("bad", [
    lambda: mentor(pathways={"astrology"}),
    lambda: mentor(availability={"mon-midnight"}),
    lambda: mentor(capacity=-1),
    lambda: mentor(radius_km=-5),
    lambda: mentor(agency_kind="club"),
    lambda: criteria(languages=[]),
    lambda: criteria(age_band=36),
    lambda: criteria(urgency="whenever"),
    lambda: criteria(allowed_classes={"everyone"}),
    lambda: Location(91, 0),
    lambda: Mentor(id="m", agency_id="a", languages={"en"}, certified_until=date(2027, 1, 1),
                   age=-3),
])
def test_values_outside_the_vocabularies_are_refused(bad):
    with pytest.raises(ValueError):
        bad()
