"""The product end to end: many agencies posting referrals through HTTP at stepped rates and
flat out, heard at ``match.proposed`` (a tap on the event exchange) and at the coordinator's
webhook (a real receiver), with CPU per referral of every process and memory under load.

The network runs as real ``nameko run`` processes on PostgreSQL (``bench/context.py``).
"""

from __future__ import annotations

from typing import Any

from bench import steps, workload
from bench.context import BenchContext
from bench.rig import product_rig
from bench.stats import goal, ratio

GOALS = {"rate": 250.0, "share_of_bare": 0.60, "post_p99_ms_at_100": 50.0, "proposed_p99_ms_at_100": 250.0}


def goals(figures: dict[str, Any], bare_rate: float | None) -> dict[str, Any]:
    at_100 = next((s for s in figures["steps"] if s["target_rate"] == 100 and "skipped" not in s), None)
    not_run = "100/s was not run: a lower step was not sustained"
    rate = figures["sustained_rate"]
    return {
        "referrals_per_s": goal(rate, GOALS["rate"], at_most=False),
        "share_of_bare_pipeline": goal(ratio(rate, bare_rate), GOALS["share_of_bare"], at_most=False),
        "post_p99_ms_at_100": goal(at_100 and at_100["post_ms"]["p99"], GOALS["post_p99_ms_at_100"],
                                   at_most=True, missing=not_run),
        "proposed_p99_ms_at_100": goal(at_100 and at_100["proposed_ms"]["p99"],
                                       GOALS["proposed_p99_ms_at_100"], at_most=True, missing=not_run),
    }


def run(smoke: bool, context: BenchContext | None = None) -> dict:
    """Stepped rates, flat out, and the ratio of the product's sustained rate to the bare
    pipeline's (when this run measured it)."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    plan = workload.plan(smoke)
    rig = product_rig(context)
    pipe = rig.pipeline(plan["drain_seconds"])
    warm = steps.warm_up(pipe)
    stepped = steps.stepped(pipe, plan["rates"], plan["seconds"], plan["repeats"])
    flat = steps.flat_out(pipe, plan["clients"], plan["flat_seconds"], plan["repeats"])
    sustained = [s for s in stepped if s.get("sustained")]
    seeded = rig.seeded
    figures = {
        "plan": dict(plan), "warm_up": warm, "steps": stepped, "flat_out": flat,
        "agencies": {"referrers": len(seeded.referrers), "peer_groups": len(seeded.peer_groups),
                     "consents": len(seeded.consents), "mentors": seeded.mentors},
        "highest_sustained_step": sustained[-1]["target_rate"] if sustained else None,
        # End to end under saturation: referrals proposed per second while flat-out load ran.
        "sustained_rate": flat["proposed_rate"]["median"],
        "events_heard": dict(rig.tap.arrivals.counts),
    }
    bare = context.shared.get("bare_pipeline")
    bare_rate = bare["flat_out"]["proposed_rate"]["median"] if bare else None
    figures["bare_pipeline_rate"] = bare_rate
    figures["ratio_to_bare_pipeline"] = ratio(figures["sustained_rate"], bare_rate)
    figures["goals"] = goals(figures, bare_rate)
    context.shared["product"] = figures
    return figures
