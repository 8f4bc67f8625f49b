"""The vectorized mentor table agrees with the reference scorer and picks the best mentor."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from matching_builders import TODAY, criteria, mentor, random_mentors, random_referrals

from services.matching.domain import (
    MentorTable,
    VocabularyFull,
    Weights,
    compatibility,
    is_allowed,
    propose,
    rank,
)


@pytest.mark.parametrize("seed", range(3))
def test_vectorized_scores_equal_the_reference_scorer(seed):
    rng = random.Random(seed)
    mentors = random_mentors(rng, 300)
    weights = Weights(pathway=rng.random(), distance=rng.random(), gender=rng.random())
    table = MentorTable(mentors, weights=weights, reserve=8)  # grows while loading
    for c in random_referrals(rng, 60):
        today = TODAY + timedelta(days=rng.randint(-5, 200))
        declined = {m.id for m in rng.sample(mentors, 5)}
        rows, scores = table.score(c, today=today, exclude=declined)
        expected = {m.id: compatibility(m, c, weights) for m in mentors
                    if is_allowed(m, c, today=today, excluded=declined)}
        got = {table.mentor_at(int(r)).id: float(s) for r, s in zip(rows, scores, strict=True)}
        assert got.keys() == expected.keys()
        for mentor_id, score in expected.items():
            assert got[mentor_id] == pytest.approx(score, abs=1e-8)


def test_random_networks_allow_some_pairs_and_refuse_others():
    rng = random.Random(11)
    table = MentorTable(random_mentors(rng, 300))
    allowed = [table.score(c, today=TODAY)[0].size for c in random_referrals(rng, 50)]
    assert min(allowed) == 0 and max(allowed) > 20


def test_online_pick_is_the_best_allowed_mentor():
    rng = random.Random(5)
    mentors = random_mentors(rng, 400)
    table = MentorTable(mentors)
    picked = 0
    for c in random_referrals(rng, 80):
        pick, ranked = table.pick(c, today=TODAY), rank(mentors, c, today=TODAY)
        assert (pick is None) == (not ranked)
        if pick is None:
            continue
        picked += 1
        assert compatibility(table.mentor(pick.mentor_id), c) == pytest.approx(
            ranked[0][1], abs=1e-8)
        if len(ranked) == 1 or ranked[0][1] - ranked[1][1] > 1e-8:
            assert pick.mentor_id == ranked[0][0].id
    assert picked > 40


def test_ties_go_to_more_capacity_left_then_the_smaller_id():
    twins = [mentor(id="b", caseload=1), mentor(id="c"), mentor(id="a", caseload=1)]
    table = MentorTable(twins)
    assert table.pick(criteria(), today=TODAY).mentor_id == "c"
    table.set_caseload("c", 1)
    assert table.pick(criteria(), today=TODAY).mentor_id == "a"


def test_a_full_caseload_takes_a_mentor_out_until_a_place_frees_up():
    table = MentorTable([mentor(id="only", capacity=2)])
    table.set_caseload("only", 2)
    assert table.pick(criteria(), today=TODAY) is None
    assert table.capacity_left().tolist() == [0]
    table.set_caseload("only", 1)
    assert table.pick(criteria(), today=TODAY).mentor_id == "only"
    assert table.mentor("only").caseload == 1


def test_updating_a_mentor_rewrites_their_row_in_place():
    table = MentorTable([mentor(id="x"), mentor(id="y", languages={"en"})])
    table.upsert(mentor(id="x", languages={"zh"}))
    assert len(table) == 2 and table.rows == 2
    assert table.pick(criteria(languages={"zh"}), today=TODAY).mentor_id == "x"
    table.upsert(mentor(id="x", active=False))
    assert table.pick(criteria(languages={"zh"}), today=TODAY) is None


def test_a_removed_mentor_is_never_picked_and_their_row_is_reused():
    table = MentorTable([mentor(id="gone"), mentor(id="stays", pathways=set())])
    table.remove("gone")
    assert "gone" not in table and table.pick(criteria(), today=TODAY).mentor_id == "stays"
    table.upsert(mentor(id="new"))
    assert table.rows == 2 and table.pick(criteria(), today=TODAY).mentor_id == "new"
    with pytest.raises(KeyError):
        table.mentor("gone")


def test_a_decline_leads_to_the_next_best_mentor():
    table = MentorTable([mentor(id="first"), mentor(id="second", pathways=set())])
    assert propose(table, criteria(), today=TODAY).mentor_id == "first"
    following = propose(table, criteria(), today=TODAY, exclude={"first", "unknown"})
    assert following.mentor_id == "second"
    assert following.score == pytest.approx(sum(i.contribution for i in following.explanation))
    assert propose(table, criteria(), today=TODAY, exclude={"first", "second"}) is None


def test_an_empty_table_proposes_no_one():
    assert MentorTable().pick(criteria(), today=TODAY) is None
    rows, scores = MentorTable().score(criteria(), today=TODAY)
    assert rows.size == 0 and scores.size == 0


def test_more_than_64_languages_is_refused_without_corrupting_the_table():
    table = MentorTable([mentor(id=f"m{i}", languages={f"lang-{i}"}) for i in range(64)])
    with pytest.raises(VocabularyFull):
        table.upsert(mentor(id="one-too-many", languages={"lang-extra"}))
    assert "one-too-many" not in table and table.rows == 64
    assert table.pick(criteria(languages={"lang-63"}), today=TODAY).mentor_id == "m63"


def test_capacity_left_is_a_copy():
    table = MentorTable([mentor(capacity=3, caseload=1)])
    left = table.capacity_left()
    left[0] = 0
    assert np.array_equal(table.capacity_left(), [2])
