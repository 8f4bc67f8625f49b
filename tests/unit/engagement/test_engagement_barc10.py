"""BARC-10 scoring with hand-computed cases, its schedule, and the form's texts in every language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.engagement.domain.assessment import InvalidAnswers, due_dates, score, trend
from services.engagement.domain.languages import available, catalog


def answers(items, belonging=4):
    return {**{f"item{n}": str(v) for n, v in enumerate(items, start=1)}, "belonging": str(belonging)}


@pytest.mark.parametrize(("items", "total"), [
    ([1] * 10, 10),                               # the lowest possible
    ([6] * 10, 60),                               # the highest possible
    ([4, 5, 3, 6, 2, 4, 5, 6, 3, 4], 42),         # 4+5+3+6+2+4+5+6+3+4
    ([6, 1, 6, 1, 6, 1, 6, 1, 6, 1], 35),         # 5 × 6 + 5 × 1
    ([3, 3, 3, 3, 3, 4, 4, 4, 4, 4], 35),         # 5 × 3 + 5 × 4
])
def test_the_total_is_the_sum_of_ten_items(items, total):
    scores = score(answers(items, belonging=5))
    assert scores.total == total and scores.items == tuple(items) and scores.belonging == 5


def test_belonging_is_not_part_of_the_total():
    assert score(answers([2] * 10, belonging=6)).total == 20
    assert score(answers([2] * 10, belonging=1)).total == 20


@pytest.mark.parametrize(("change", "field"), [
    ({"item3": "0"}, "item3"), ({"item10": "7"}, "item10"), ({"item1": "abc"}, "item1"),
    ({"belonging": ""}, "belonging"), ({"item5": None}, "item5")])
def test_every_answer_must_be_one_to_six(change, field):
    with pytest.raises(InvalidAnswers) as invalid:
        score({**answers([3] * 10), **change})
    assert set(invalid.value.fields) == {field}


def test_a_missing_item_is_named():
    given = answers([3] * 10)
    del given["item7"]
    with pytest.raises(InvalidAnswers) as invalid:
        score(given)
    assert set(invalid.value.fields) == {"item7"}


def test_due_at_the_handoff_and_30_60_90_days_on():
    start = datetime(2026, 12, 1, tzinfo=UTC)
    assert due_dates(start) == [("handoff", start), ("day30", start + timedelta(days=30)),
                                ("day60", start + timedelta(days=60)), ("day90", start + timedelta(days=90))]


def test_the_trend_is_the_change_from_the_first_total_to_the_last():
    assert trend([]) is None and trend([31]) is None
    assert trend([31, 35, 44]) == 13
    assert trend([50, 41]) == -9


def test_every_language_has_ten_statements_a_six_point_scale_and_the_belonging_question():
    for tag in available():
        texts = catalog(tag).texts
        assert len(texts["barc10"]) == 10 and len(set(texts["barc10"])) == 10, tag
        assert len(texts["scale"]) == 6, tag
        assert texts["belonging"], tag
