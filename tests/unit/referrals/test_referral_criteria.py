"""Needs become coarse matching criteria: nothing precise or personal leaves referrals."""

from __future__ import annotations

import pytest

from services.referrals.catalog import CriteriaSchema
from services.referrals.domain import criteria_from_needs
from services.referrals.domain.criteria import age_band, coarse_location


@pytest.mark.parametrize(("age", "band"), [(36, 35), (35, 35), (39, 35), (40, 40), (18, 15),
                                           (None, None)])
def test_age_becomes_the_lower_bound_of_a_five_year_band(age, band):
    assert age_band(age) == band


def test_location_is_rounded_to_two_decimals():
    assert coarse_location({"lat": 40.712776, "lon": -74.005974}) == {"lat": 40.71, "lon": -74.01}
    assert coarse_location(None) is None


def test_criteria_keep_only_matching_fields():
    needs = {"languages": ["ES", "en", "es"], "mentor_gender": "female",
             "mentor_gender_required": True, "pathways": ["12-step"], "age": 52,
             "location": {"lat": 1.23456, "lon": 2.34567}, "remote_ok": False,
             "availability": ["mon-evening"], "given_name": "Ana", "notes": "relapsed twice"}
    criteria = criteria_from_needs(needs)
    assert criteria == {
        "languages": ["es", "en"], "mentor_gender": "female", "mentor_gender_required": True,
        "pathways": ["12-step"], "lived_experience": [], "age_band": 50,
        "location": {"lat": 1.23, "lon": 2.35}, "remote_ok": False,
        "availability": ["mon-evening"], "substance_use_shared": True,
    }
    assert CriteriaSchema().load(criteria) == criteria


def test_without_substance_use_the_criteria_that_reveal_it_stay_behind():
    needs = {"languages": ["en"], "pathways": ["medication-assisted", "12-step"],
             "lived_experience": ["opioids", "overdose-survivor"]}
    shared = criteria_from_needs(needs)
    assert shared["lived_experience"] == ["opioids", "overdose-survivor"]
    assert shared["pathways"] == ["medication-assisted", "12-step"] and shared["substance_use_shared"]
    kept_back = criteria_from_needs(needs, substance_use=False)
    assert kept_back["lived_experience"] == [] and kept_back["pathways"] == ["12-step"]
    assert kept_back["substance_use_shared"] is False
    # Identical whether the referral named any: the flag itself reveals nothing.
    assert criteria_from_needs({"languages": ["en"], "pathways": ["12-step"]},
                               substance_use=False) == kept_back
    assert CriteriaSchema().load(kept_back) == kept_back


def test_lived_experience_stored_as_words_reads_as_codes():
    criteria = criteria_from_needs({"languages": ["en"],
                                    "lived_experience": ["Fentanyl overdose", "opioids", "heroin", "??"]})
    assert criteria["lived_experience"] == ["overdose-survivor", "opioids"]


def test_a_gender_requirement_without_a_preference_is_dropped():
    criteria = criteria_from_needs({"languages": ["en"], "mentor_gender_required": True})
    assert criteria["mentor_gender_required"] is False
    assert criteria["remote_ok"] is True and criteria["location"] is None
