"""Hard rules: each one on its own keeps a mentor from a referral, and says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from matching_builders import DOWNTOWN, HARBOR, TODAY, criteria, mentor

from services.matching.domain import (
    HARD_RULES,
    Location,
    MentorTable,
    exclusion_reasons,
    is_allowed,
)

FAR_AWAY = Location(42.36, -71.06)  # about 300 km from DOWNTOWN

BROKEN = {
    "excluded": ({}, {}, {"mentor-1"}),
    "inactive": ({"active": False}, {}, set()),
    "certification_expired": ({"certified_until": TODAY - timedelta(days=1)}, {}, set()),
    "no_capacity": ({"capacity": 2, "caseload": 2}, {}, set()),
    "agency_not_allowed": ({"agency_id": "agency-other"}, {}, set()),
    "no_shared_language": ({"languages": {"zh"}}, {}, set()),
    "gender_required": ({"gender": "male"}, {"mentor_gender_required": True}, set()),
    "outside_radius": ({"location": FAR_AWAY}, {"remote_ok": False}, set()),
}


def test_the_default_pair_is_allowed():
    assert exclusion_reasons(mentor(), criteria(), today=TODAY) == ()


def test_every_hard_rule_has_a_case():
    assert set(BROKEN) == set(HARD_RULES)


@pytest.mark.parametrize("rule", HARD_RULES)
def test_each_hard_rule_excludes_on_its_own(rule):
    mentor_changes, criteria_changes, excluded = BROKEN[rule]
    m, c = mentor(**mentor_changes), criteria(**criteria_changes)
    assert exclusion_reasons(m, c, today=TODAY, excluded=excluded) == (rule,)
    assert MentorTable([m]).pick(c, today=TODAY, exclude=excluded) is None


def test_every_broken_rule_is_named():
    m = mentor(active=False, languages={"zh"}, capacity=0)
    assert exclusion_reasons(m, criteria(), today=TODAY) == (
        "inactive", "no_capacity", "no_shared_language")


def test_certification_counts_through_its_last_day():
    m = mentor(certified_until=TODAY)
    assert is_allowed(m, criteria(), today=TODAY)
    assert not is_allowed(m, criteria(), today=TODAY + timedelta(days=1))


@pytest.mark.parametrize(("mentor_remote", "referral_remote", "allowed"), [
    (True, True, True), (True, False, False), (False, True, False), (False, False, False),
])
def test_a_distant_mentor_needs_remote_meetings_on_both_sides(
        mentor_remote, referral_remote, allowed):
    m = mentor(location=FAR_AWAY, remote_ok=mentor_remote)
    assert is_allowed(m, criteria(remote_ok=referral_remote), today=TODAY) is allowed


def test_the_radius_is_measured_along_the_earth():
    m = mentor(location=DOWNTOWN, remote_ok=False, radius_km=10)
    north_9km, north_11km = Location(40.791, -74.00), Location(40.809, -74.00)
    assert is_allowed(m, criteria(location=north_9km, remote_ok=False), today=TODAY)
    assert not is_allowed(m, criteria(location=north_11km, remote_ok=False), today=TODAY)


def test_in_person_needs_both_locations():
    assert not is_allowed(mentor(remote_ok=False), criteria(location=None), today=TODAY)
    assert not is_allowed(mentor(location=None), criteria(remote_ok=False), today=TODAY)
    assert is_allowed(mentor(location=None), criteria(location=None), today=TODAY)


def test_consent_by_class_covers_every_peer_group_but_not_other_kinds():
    by_class = criteria(allowed_agencies=set(), allowed_classes={"peer_group"})
    assert is_allowed(mentor(agency_id="agency-anywhere"), by_class, today=TODAY)
    assert not is_allowed(mentor(agency_kind="clinic"), by_class, today=TODAY)
    assert not is_allowed(mentor(), criteria(allowed_agencies=set()), today=TODAY)
    assert is_allowed(mentor(agency_id=HARBOR), criteria(), today=date(2026, 1, 1))


def test_a_preferred_but_not_required_gender_does_not_exclude():
    assert is_allowed(mentor(gender="male"), criteria(mentor_gender="female"), today=TODAY)
