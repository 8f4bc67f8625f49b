"""A match's explanation as bars: each factor's share of the score, in whole percentage points
that add up to the score exactly (largest remainders), so the bars sum to what the score says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    factor: str
    contribution: float
    weight: float
    score: float
    shared: bool
    points: int  # width in percentage points of the whole scale (0..100)


LEVEL_CAP = "level_cap"  # matching's item saying the mentor's level caps their caseload


def level_cap(explanation: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The explanation's level-cap item (``level``, ``cap``, ``capacity``, ``caseload``), if any."""
    return next((item for item in explanation if item.get("factor") == LEVEL_CAP), None)


def factor_bars(explanation: list[dict[str, Any]], score: float) -> list[Bar]:
    """Bars for ``explanation`` (``factor``, ``weight``, ``score``, ``contribution``, ``shared``),
    largest contribution first, whose ``points`` sum to ``round(score * 100)``. The level-cap item
    scores nothing and is not a bar (``level_cap`` reads it)."""
    items = sorted((item for item in explanation if item.get("factor") != LEVEL_CAP),
                   key=lambda item: (-float(item["contribution"]), item["factor"]))
    total = max(0, min(100, round(float(score) * 100)))
    exact = [max(0.0, float(item["contribution"])) * 100 for item in items]
    scale = total / sum(exact) if sum(exact) > 0 else 0.0
    scaled = [value * scale for value in exact]
    points = [int(value) for value in scaled]
    order = sorted(range(len(items)), key=lambda i: (-(scaled[i] - points[i]), i))
    for i in order[:total - sum(points)]:
        points[i] += 1
    return [Bar(str(item["factor"]), float(item["contribution"]), float(item.get("weight", 0.0)),
                float(item.get("score", 0.0)), bool(item.get("shared", True)), points[i])
            for i, item in enumerate(items)]
