"""Memory: resident size of every product process idle and under load, against the bare
pipeline's nameko processes as the baseline, in two measures:

- RSS (VmRSS, children included): what each process holds resident, shared library pages
  counted in full in every process that maps them. The goal is on its sum.
- PSS (proportional set size, /proc/<pid>/smaps_rollup): a page n processes share counts 1/n in
  each, so the sum over the network is the memory it really takes from the machine.

Idle is read a few seconds after the network first became ready; under load is the largest
size seen when a flat-out run stopped (the product section's runs, or a short one here when
that section did not run).
"""

from __future__ import annotations

from bench import steps, workload
from bench.context import BenchContext
from bench.rig import product_rig
from bench.stats import goal, ratio

GOAL_IDLE_TOTAL_MB = 600.0


def run(smoke: bool, context: BenchContext | None = None) -> dict:
    """Per process and whole-network RSS and PSS, idle and under load, in MB."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    rig = product_rig(context)
    if not context.shared.get("load_rss_mb"):
        plan = workload.plan(smoke)
        steps.flat_out(rig.pipeline(plan["drain_seconds"]), plan["clients"], plan["flat_seconds"], 1)
    idle, load = context.shared["idle_rss_mb"], context.shared["load_rss_mb"]
    idle_pss, load_pss = context.shared["idle_pss_mb"], context.shared["load_pss_mb"]
    bare = (context.shared.get("bare_pipeline") or {}).get("idle_rss_mb")
    bare_each = sum(bare.values()) / len(bare) if bare else None
    idle_total = sum(idle.values())
    return {
        "idle_mb": idle, "under_load_mb": load,
        "idle_total_mb": idle_total, "under_load_total_mb": sum(load.values()),
        "idle_pss_mb": idle_pss, "under_load_pss_mb": load_pss,
        "idle_pss_total_mb": sum(idle_pss.values()), "under_load_pss_total_mb": sum(load_pss.values()),
        "bare_nameko_process_idle_mb": bare_each,
        "idle_per_process_ratio_to_bare": ratio(idle_total / len(idle), bare_each),
        "goals": {"idle_total_mb": goal(idle_total, GOAL_IDLE_TOTAL_MB, at_most=True)},
    }
