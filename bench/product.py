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

# Issue 19's targets: the product's share of the bare pipeline of the same run, CPU per referral
# (every process, the database server and the broker), and latencies at the highest step the
# product sustained.
GOALS = {"share_of_bare": 0.25, "cpu_ms_per_referral": 20.0, "post_p99_ms": 50.0,
         "proposed_p99_ms": 250.0}


def goals(figures: dict[str, Any], bare: dict[str, Any] | None) -> dict[str, Any]:
    rate = figures["sustained_rate"]
    bare_flat = (bare or {}).get("flat_out") or {}
    bare_rate = (bare_flat.get("proposed_rate") or {}).get("median")
    cpu = figures["flat_out"].get("cpu_ms_per_referral_total")
    bare_cpu = bare_flat.get("cpu_ms_per_referral_total")
    sustained = [s for s in figures["steps"] if s.get("sustained")]
    top = sustained[-1] if sustained else None
    at = f"at {top['target_rate']:g}/s, the highest sustained step" if top else ""
    same = next((s for s in (bare or {}).get("steps", ())
                 if top and s.get("target_rate") == top["target_rate"] and "skipped" not in s), None)

    def bare_p99(key: str) -> str:
        return f"{at}; bare pipeline {same[key]['p99']:.1f} ms there" if same else at

    none_sustained = "no step was sustained"
    return {
        "share_of_bare_pipeline": goal(
            ratio(rate, bare_rate), GOALS["share_of_bare"], at_most=False,
            baseline=f"product {rate:.1f}/s, bare pipeline {bare_rate:.1f}/s" if bare_rate else ""),
        "cpu_ms_per_referral": goal(
            cpu, GOALS["cpu_ms_per_referral"], at_most=True,
            baseline=f"bare pipeline {bare_cpu:.1f} ms" if bare_cpu else ""),
        "post_p99_ms": goal(top and top["post_ms"]["p99"], GOALS["post_p99_ms"], at_most=True,
                            missing=none_sustained, baseline=bare_p99("post_ms")),
        "proposed_p99_ms": goal(top and top["proposed_ms"]["p99"], GOALS["proposed_p99_ms"],
                                at_most=True, missing=none_sustained, baseline=bare_p99("proposed_ms")),
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
    figures["goals"] = goals(figures, bare)
    context.shared["product"] = figures
    return figures
