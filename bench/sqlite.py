"""The network as ``make run`` starts it on one machine: every service on its own SQLite file,
seeded like the product section's network, driven by 8 closed-loop clients.

Issue 19's target is twice the 42 accepted referrals/s this network carried with 8 clients when
the issue was filed. The PostgreSQL network is stopped first (the section runs on a quiet
machine, like ``make run``), and this network is removed at the end.
"""

from __future__ import annotations

from typing import Any

from bench import steps, workload
from bench.context import BenchContext
from bench.rig import rig_on
from bench.stats import goal
from network.processes import Network, free_port

CLIENTS = 8
# Accepted referrals/s of the SQLite network with 8 clients when issue 19 was filed; its goal is twice that.
FILED_RATE = 42.0
GOAL_RATE = 2 * FILED_RATE


def run(smoke: bool, context: BenchContext | None = None) -> dict[str, Any]:
    """Accepted and proposed referrals/s, POST latency and CPU per referral, 8 clients flat out."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    plan = workload.plan(smoke)
    context.stop_network()
    folder = context.logs / "sqlite"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = context.network_env(port, database=lambda name: f"sqlite:///{folder / f'{name}.db'}")
    net = Network(env=env, logs=context.logs, base_url=f"http://127.0.0.1:{port}")
    rig = None
    try:
        net.start_all()
        rig = rig_on(context, net)
        pipe = rig.pipeline(plan["drain_seconds"], sample_memory=False)
        warm = steps.warm_up(pipe)
        flat = steps.flat_out(pipe, CLIENTS, plan["flat_seconds"], plan["repeats"])
    except Exception:
        context.failed = True
        raise
    finally:
        if rig is not None:
            rig.stop()
        net.stop_all()
    accepted = flat["accepted_rate"]["median"]
    return {
        "warm_up": warm, "flat_out": flat, "accepted_rate": accepted,
        "proposed_rate": flat["proposed_rate"]["median"],
        "cpu_ms_per_referral_total": flat.get("cpu_ms_per_referral_total"),
        "goals": {"sqlite_accepted_per_s_8_clients": goal(
            accepted, GOAL_RATE, at_most=False,
            baseline=f"{FILED_RATE:g}/s when issue 19 was filed (2 × that is the goal)")},
    }
