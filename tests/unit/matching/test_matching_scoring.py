"""Soft factors rank allowed mentors, and the explanation shows exactly how."""

from __future__ import annotations

import random

import pytest
from matching_builders import DOWNTOWN, TODAY, criteria, mentor, random_mentors, random_referrals

from services.kit.contract import new_event, parse_event
from services.matching.catalog import ExplanationItemSchema
from services.matching.domain import (
    FACTORS,
    Location,
    MentorTable,
    Weights,
    compatibility,
    explain,
    factor_scores,
    proposal_for,
    propose,
)
from services.matching.domain.scoring import NEUTRAL

# For each factor: a mentor that fits better and one that fits worse, all else equal.
BETTER_WORSE = {
    "pathway": ({"pathways": {"12-step"}}, {"pathways": {"secular"}}),
    "lived_experience": ({"lived_experience": {"opioids"}}, {"lived_experience": {"alcohol"}}),
    "age": ({"age": 37}, {"age": 62}),
    "availability": ({"availability": {"mon-evening", "sat-morning"}},
                     {"availability": {"mon-evening"}}),
    "distance": ({"location": Location(40.72, -74.00)}, {"location": Location(40.80, -74.00)}),
    "gender": ({"gender": "female"}, {"gender": "male"}),
}


def test_every_factor_has_a_case():
    assert set(BETTER_WORSE) == set(FACTORS)


@pytest.mark.parametrize("factor", FACTORS)
def test_each_soft_factor_moves_the_score_the_right_way(factor):
    better, worse = (mentor(**changes) for changes in BETTER_WORSE[factor])
    c = criteria()
    assert factor_scores(better, c)[factor] > factor_scores(worse, c)[factor]
    others = [f for f in FACTORS if f != factor]
    assert [factor_scores(better, c)[f] for f in others] == [
        factor_scores(worse, c)[f] for f in others]
    assert compatibility(better, c) > compatibility(worse, c)


def test_unstated_preferences_score_neutral_for_everyone():
    silent = criteria(pathways=set(), lived_experience=set(), age_band=None, availability=set(),
                      location=None, mentor_gender=None)
    for m in (mentor(), mentor(pathways=set(), gender="male", age=70, location=None)):
        assert set(factor_scores(m, silent).values()) == {0.5}


def test_evenings_and_weekends_count_more_than_weekday_daytime():
    c = criteria(availability={"tue-morning", "thu-evening"})
    weekday = factor_scores(mentor(availability={"tue-morning"}), c)["availability"]
    evening = factor_scores(mentor(availability={"thu-evening"}), c)["availability"]
    assert (weekday, evening) == (pytest.approx(1 / 3), pytest.approx(2 / 3))


def test_distance_and_age_fade_to_zero():
    far = factor_scores(mentor(location=Location(41.2, -74.0)), criteria(location=DOWNTOWN))
    assert far["distance"] == 0.0
    assert factor_scores(mentor(age=70), criteria(age_band=20))["age"] == 0.0
    assert factor_scores(mentor(age=36), criteria(age_band=35))["age"] == 1.0


def test_explanation_adds_up_to_the_score():
    rng = random.Random(7)
    for m, c in zip(random_mentors(rng, 200), random_referrals(rng, 200), strict=True):
        items = explain(m, c)
        assert [i.factor for i in items] == list(FACTORS)
        assert sum(i.weight for i in items) == pytest.approx(1.0)
        assert sum(i.contribution for i in items) == pytest.approx(compatibility(m, c), abs=1e-12)
        assert all(i.contribution == pytest.approx(i.weight * i.score) for i in items)
        assert all(0.0 <= i.score <= 1.0 for i in items)
        assert 0.0 <= compatibility(m, c) <= 1.0


def test_a_proposal_fits_the_match_event():
    proposal = proposal_for(mentor(), criteria())
    assert proposal.score == pytest.approx(sum(i.contribution for i in proposal.explanation))
    event = new_event("match.proposed", {"match_id": "match-1", **proposal.to_payload_fields()},
                      source="matching")
    assert event.payload["mentor_id"] == "mentor-1"
    assert ExplanationItemSchema().load(event.payload["explanation"][0])


def test_weights_come_from_configuration():
    weights = Weights.from_dict({"distance": 5, "pathway": 0})
    assert weights.distance == 5.0 and weights.pathway == 0.0 and weights.age == Weights().age
    assert sum(weights.normalized()) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        Weights.from_dict({"charisma": 1})
    with pytest.raises(ValueError):
        Weights.from_dict({"age": -1})
    with pytest.raises(ValueError):
        Weights.from_dict(dict.fromkeys(FACTORS, 0))


def test_weights_change_who_is_proposed():
    near_other_path = mentor(id="near", pathways={"secular"}, location=Location(40.711, -74.0))
    far_same_path = mentor(id="far", pathways={"12-step"}, location=Location(40.80, -74.0))
    mentors = [near_other_path, far_same_path]
    by_distance = MentorTable(mentors, weights=Weights.from_dict({"distance": 10}))
    by_pathway = MentorTable(mentors, weights=Weights.from_dict({"pathway": 10}))
    assert propose(by_distance, criteria(), today=TODAY).mentor_id == "near"
    assert propose(by_pathway, criteria(), today=TODAY).mentor_id == "far"


def test_an_explanation_says_which_factors_were_not_shared():
    shared = {i.factor: i for i in explain(mentor(), criteria())}
    assert all(item.shared for item in shared.values())
    withheld = criteria(lived_experience=(), substance_use_shared=False)
    items = {i.factor: i for i in explain(mentor(), withheld)}
    assert not items["lived_experience"].shared and not items["pathway"].shared
    assert items["lived_experience"].score == NEUTRAL
    assert all(items[f].shared for f in FACTORS if f not in ("lived_experience", "pathway"))
    event = new_event("match.proposed", {"match_id": "match-1",
                                         **proposal_for(mentor(), withheld).to_payload_fields()},
                      source="matching")
    said = {item["factor"]: item["shared"] for item in event.payload["explanation"]}
    assert said["lived_experience"] is False and said["age"] is True


def test_a_version_1_match_event_reads_as_everything_shared():
    proposal = proposal_for(mentor(), criteria())
    v1 = {**proposal.to_payload_fields(), "match_id": "match-1",
          "explanation": [{k: v for k, v in item.to_dict().items() if k != "shared"}
                          for item in proposal.explanation]}
    message = new_event("match.proposed", {**v1, "explanation": []}, source="matching").to_message()
    message.update(version=1, payload=v1)
    assert all(item["shared"] for item in parse_event(message).payload["explanation"])


def test_a_level_that_caps_the_caseload_is_an_item_of_the_explanation():
    trainee = mentor(capacity=5, caseload=1, level="trainee", level_cap=2)
    proposal = proposal_for(trainee, criteria())
    capped = [i for i in proposal.explanation if i.factor == "level_cap"]
    assert len(capped) == 1 and len(proposal.explanation) == len(FACTORS) + 1
    item = capped[0].to_dict()
    assert {k: item[k] for k in ("level", "cap", "capacity", "caseload")} == {
        "level": "trainee", "cap": 2, "capacity": 5, "caseload": 1}
    # It adds nothing to the score: the factors still add up to it.
    assert (item["weight"], item["score"], item["contribution"]) == (0.0, 0.0, 0.0)
    assert proposal.score == pytest.approx(compatibility(mentor(capacity=5, caseload=1), criteria()))
    # It travels in the match event and reads back.
    event = new_event("match.proposed", {"match_id": "match-1", **proposal.to_payload_fields()},
                      source="matching")
    read = parse_event(event.to_message()).payload["explanation"][-1]
    assert (read["factor"], read["level"], read["cap"], read["caseload"]) == ("level_cap", "trainee", 2, 1)


@pytest.mark.parametrize("overrides", [
    {"capacity": 2, "level": "trainee", "level_cap": 2},   # the cap is not below own capacity
    {"capacity": 5, "level": "senior", "level_cap": 8},
    {"capacity": 5},                                        # not on the ladder
])
def test_no_level_cap_item_when_the_level_does_not_bind(overrides):
    items = explain(mentor(**overrides), criteria())
    assert [i.factor for i in items] == list(FACTORS)
