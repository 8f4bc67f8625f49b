"""Simple server-rendered bar charts of the outcome tables (SVG, no script, no inline style).

A chart shows one figure of a table's month rows (the ``all`` group), one horizontal bar per
month and category; the table beside it carries every figure, so the chart is a picture of
numbers the page also gives as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LABEL_WIDTH = 150
BAR_SPACE = 330
ROW_HEIGHT = 22
WIDTH = LABEL_WIDTH + BAR_SPACE + 70


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    figure: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = WIDTH


def chart_of(table: dict[str, Any]) -> Chart | None:
    """The chart of a table's first figure over its months, or None when it has no month rows."""
    figure = table["figures"][0]
    rows = [r for r in table["rows"]
            if r["month"] != "all" and r["group"] == "all" and r.get(figure) is not None]
    if not rows:
        return None
    top = max(abs(float(r[figure])) for r in rows) or 1.0
    bars = tuple(Bar(label=r["month"] if r["category"] == "all" else f"{r['month']} {r['category']}",
                     value=r[figure], y=i * ROW_HEIGHT,
                     width=max(int(round(BAR_SPACE * abs(float(r[figure])) / top)), 1))
                 for i, r in enumerate(rows))
    return Chart(figure=figure, bars=bars, height=len(bars) * ROW_HEIGHT)
