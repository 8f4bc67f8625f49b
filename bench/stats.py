"""Summaries shared by every benchmark: median and p99 of samples, and of repeated runs.

Two ways a figure is summarised, and the report says which:
- a *distribution* (latencies): every sample of every repeat pooled, then p50 and p99;
- a *per-run figure* (a rate): one value per repeat, then the median and p99 across repeats
  (with three repeats the p99 is close to the best run, so the median is the figure to quote).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def summary(samples: Iterable[float], scale: float = 1.0) -> dict[str, float | int | None]:
    """``{"p50", "p99", "max", "n"}`` of ``samples`` times ``scale``; Nones when there are none."""
    values = np.asarray(list(samples), dtype=float) * scale
    if values.size == 0:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    return {"p50": float(np.median(values)), "p99": float(np.percentile(values, 99)),
            "max": float(values.max()), "n": int(values.size)}


def across_runs(values: Sequence[float | None]) -> dict[str, float | list | None]:
    """``{"median", "p99", "runs"}`` of one figure measured once per repeat."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "p99": None, "runs": list(values)}
    array = np.asarray(present, dtype=float)
    return {"median": float(np.median(array)), "p99": float(np.percentile(array, 99)),
            "runs": [None if v is None else float(v) for v in values]}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def repeat(times: int, measure: Callable[[], T]) -> list[T]:
    """Call ``measure`` ``times`` times and return every result."""
    return [measure() for _ in range(times)]


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds ``fn`` took, and what it returned."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def goal(value: float | None, target: float, *, at_most: bool,
         missing: str = "", baseline: str = "") -> dict[str, float | bool | str | None]:
    """A goal line for the report: the value, the target, whether it is met, why there is
    no value when there is none, and the baseline measured in the same run (as text)."""
    met = None if value is None else (value <= target if at_most else value >= target)
    line: dict[str, float | bool | str | None] = {"value": value, "goal": target, "at_most": at_most,
                                                  "met": met}
    if value is None and missing:
        line["missing"] = missing
    if baseline:
        line["baseline"] = baseline
    return line
