"""BARC-10, the Brief Assessment of Recovery Capital, and a belonging question.

Ten statements, each answered on a six-point agreement scale (1 strongly disagree … 6 strongly
agree); the total is their sum, 10 to 60, higher meaning more recovery capital. The belonging
question ("I feel I belong in my peer recovery community") uses the same scale and is kept apart
from the total. Offered at the handoff and 30, 60 and 90 days after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ITEMS = 10
SCALE = range(1, 7)
# When each questionnaire falls due, counted from the start of the engagement (the handoff).
SCHEDULE: tuple[tuple[str, int], ...] = (("handoff", 0), ("day30", 30), ("day60", 60), ("day90", 90))


class InvalidAnswers(ValueError):
    """Answers that are not ten items and a belonging answer, each 1 to 6; ``fields`` names them."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("Invalid answers.")
        self.fields = fields


@dataclass(frozen=True)
class Scores:
    items: tuple[int, ...]
    belonging: int

    @property
    def total(self) -> int:
        return sum(self.items)


def score(answers: Mapping[str, Any]) -> Scores:
    """``{"item1": "4", ..., "item10": "6", "belonging": "5"}`` (form values) as ``Scores``."""
    problems: dict[str, str] = {}
    values: dict[str, int] = {}
    for name in [f"item{n}" for n in range(1, ITEMS + 1)] + ["belonging"]:
        raw = answers.get(name)
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            problems[name] = "Choose one answer."
            continue
        if value not in SCALE:
            problems[name] = "Choose one answer from 1 to 6."
        values[name] = value
    if problems:
        raise InvalidAnswers(problems)
    return Scores(tuple(values[f"item{n}"] for n in range(1, ITEMS + 1)), values["belonging"])


def due_dates(started_at: datetime) -> list[tuple[str, datetime]]:
    return [(label, started_at + timedelta(days=days)) for label, days in SCHEDULE]


def trend(totals: Sequence[int]) -> int | None:
    """The change of the total from the first completed questionnaire to the last, or None."""
    return totals[-1] - totals[0] if len(totals) >= 2 else None
