"""Stepped rates and flat out through an HTTP → RPC → event → event pipeline, measured end to
end: the same driver for the bare pipeline and the product, so their figures compare.

A step is *sustained* when the gateway accepted at least 95 % of the offered rate with at most
1 % errors, and at least 95 % of the step's referrals were proposed by one second after the
step ended (a pipeline that falls behind builds a queue and fails the last condition).
Higher steps are not run once a step is not sustained: they could only pile up a backlog that
every later measurement would inherit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.events import Arrivals
from bench.load import HttpTarget, LoadResult, Request, closed_loop, open_loop, step_figures
from bench.stats import across_runs, summary

ON_TIME_GRACE_SECONDS = 1.0
SUSTAINED_SHARE = 0.95
MAX_ERROR_SHARE = 0.01
# More referrals per second than any flat-out run here reaches: places are prepared for it.
FLAT_OUT_CEILING = 600


@dataclass
class Pipeline:
    """What a driver needs: where to send, what to send, and where arrivals are heard."""

    target: HttpTarget
    make: Callable[[int], Request]
    proposed: Arrivals
    notified: Arrivals
    drain_seconds: float
    on_loaded: Callable[[], None] | None = None  # called when a run's load stops, before draining
    cpu: Callable[[], dict[str, float]] | None = None  # CPU seconds used so far, per process
    prepare: Callable[[int], None] | None = None  # told how many referrals the next run may send


def run_once(pipe: Pipeline, load: Callable[[], LoadResult], target_rate: float | None,
             expected: int) -> dict[str, Any]:
    """One run and its measurement; with ``pipe.cpu``, CPU milliseconds per accepted referral
    for each process, from the start of the load until every arrival was heard."""
    if pipe.prepare is not None:
        pipe.prepare(expected)
    before = pipe.cpu() if pipe.cpu else {}
    figures = measure(pipe, load(), target_rate)
    if pipe.cpu:
        after, accepted = pipe.cpu(), max(figures["accepted"], 1)
        figures["cpu_ms_per_referral"] = {name: 1e3 * (after[name] - before.get(name, 0.0)) / accepted
                                          for name in after}
    return figures


def _ids(result: LoadResult) -> dict[str, float]:
    """Referral id -> the time its POST started, for every accepted POST."""
    ids = {}
    for sent in result.ok:
        try:
            ids[json.loads(sent.body)["id"]] = sent.started
        except (ValueError, KeyError, TypeError):
            continue
    return ids


def measure(pipe: Pipeline, result: LoadResult, target_rate: float | None) -> dict[str, Any]:
    """One run's figures, with its raw latency samples under ``"_samples"``."""
    if pipe.on_loaded is not None:
        pipe.on_loaded()
    figures = step_figures(result, target_rate)
    ids = _ids(result)
    figures["missing_proposals"] = pipe.proposed.wait_for(ids, pipe.drain_seconds)
    figures["missing_notifications"] = pipe.notified.wait_for(ids, pipe.drain_seconds / 2)
    proposed = [pipe.proposed.first[i] - t for i, t in ids.items() if i in pipe.proposed.first]
    notified = [pipe.notified.first[i] - t for i, t in ids.items() if i in pipe.notified.first]
    window_end = result.began + result.planned_seconds
    in_window = sum(1 for i in ids if pipe.proposed.first.get(i, float("inf")) <= window_end)
    on_time = sum(1 for i in ids
                  if pipe.proposed.first.get(i, float("inf")) <= window_end + ON_TIME_GRACE_SECONDS)
    sent = max(figures["sent"], 1)
    figures |= {
        "proposed_ms": summary(proposed, 1e3), "notified_ms": summary(notified, 1e3),
        # End to end: referrals proposed while the load ran, per second of load.
        "proposed_rate": in_window / result.planned_seconds,
        "sustained": (target_rate is None or figures["accepted_rate"] >= SUSTAINED_SHARE * target_rate)
        and figures["errors"] <= MAX_ERROR_SHARE * sent and on_time >= SUSTAINED_SHARE * sent,
        "_samples": {"post_ms": [s.seconds * 1e3 for s in result.ok],
                     "proposed_ms": [x * 1e3 for x in proposed], "notified_ms": [x * 1e3 for x in notified]},
    }
    return figures


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeats of one step: rates across runs, latencies pooled, counts summed."""
    pooled = {key: [x for r in runs for x in r["_samples"][key]] for key in runs[0]["_samples"]}
    kinds: dict[str, int] = {}
    for r in runs:
        for kind, n in r["error_kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + n
    return {
        "target_rate": runs[0]["target_rate"], "repeats": len(runs),
        "sustained": sum(r["sustained"] for r in runs) * 2 > len(runs),
        "accepted_rate": across_runs([r["accepted_rate"] for r in runs]),
        "proposed_rate": across_runs([r["proposed_rate"] for r in runs]),
        "post_ms": summary(pooled["post_ms"]), "proposed_ms": summary(pooled["proposed_ms"]),
        "notified_ms": summary(pooled["notified_ms"]),
        "lag_ms_p99": max(r["lag_ms"]["p99"] or 0.0 for r in runs),
        "sent": sum(r["sent"] for r in runs), "errors": sum(r["errors"] for r in runs),
        "error_kinds": kinds,
        "missing_proposals": sum(r["missing_proposals"] for r in runs),
        "missing_notifications": sum(r["missing_notifications"] for r in runs),
    }


def stepped(pipe: Pipeline, rates: Sequence[float], seconds: float, repeats: int) -> list[dict]:
    """Each rate ``repeats`` times, lowest first; rates above the first unsustained one are
    listed as not run."""
    steps: list[dict[str, Any]] = []
    for rate in rates:
        if steps and not steps[-1].get("sustained", False):
            steps.append({"target_rate": rate, "skipped": f"{steps[-1]['target_rate']:g}/s not sustained"})
            continue
        runs = [run_once(pipe, lambda r=rate: open_loop(pipe.target, pipe.make, r, seconds), rate,
                     round(rate * seconds)) for _ in range(repeats)]
        steps.append(combine(runs))
    return steps


def flat_out(pipe: Pipeline, clients: int, seconds: float, repeats: int) -> dict[str, Any]:
    """``clients`` closed-loop clients, ``repeats`` times."""
    runs = [run_once(pipe, lambda: closed_loop(pipe.target, pipe.make, clients, seconds), None,
                 round(FLAT_OUT_CEILING * seconds)) for _ in range(repeats)]
    figures = {"clients": clients, "seconds": seconds} | combine(runs)
    if pipe.cpu:
        names = runs[0]["cpu_ms_per_referral"]
        figures["cpu_ms_per_referral"] = {
            name: across_runs([r["cpu_ms_per_referral"][name] for r in runs])["median"] for name in names}
        # Every process, the database server, the broker and the load generator together.
        figures["cpu_ms_per_referral_total"] = sum(figures["cpu_ms_per_referral"].values())
    return figures


def warm_up(pipe: Pipeline, rate: float = 20, seconds: float = 2.0) -> dict[str, Any]:
    """A short run whose figures are thrown away: connections, caches and first touches."""
    figures = measure(pipe, open_loop(pipe.target, pipe.make, rate, seconds), rate)
    return {"sent": figures["sent"], "errors": figures["errors"],
            "missing_proposals": figures["missing_proposals"]}
