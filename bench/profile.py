"""Where a referral's time goes: every product process restarted under the sampling profiler
(``bench/sampler.py``), a steady load below saturation, then CPU per referral by process, by
library and by product function, and the database work per referral (transactions and, on
the private server, statements from ``pg_stat_statements``).

The slowest stage is the process that spends the most CPU on a referral: on a machine whose
cores the whole network shares, that is what bounds the sustained rate.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import psycopg

from bench import steps, workload
from bench.context import BenchContext
from bench.load import open_loop
from bench.rig import product_rig
from network.processes import PROCESSES, Network

TOP_FUNCTIONS = 12


class SampledNetwork(Network):
    """The product network with every process under ``python -m bench.profiled``."""

    def command(self, name: str, process: str) -> list[str]:
        config, module = PROCESSES[name]
        return [sys.executable, "-m", "bench.profiled", str(self.logs / f"profile-{process}.json"), "run",
                "--config", config, module]


def _database_work(admin_url: str, run_id: str, since: dict | None) -> dict[str, dict[str, float]]:
    """Committed transactions, and with pg_stat_statements statements and their execution
    time, per service database (cumulative; subtract an earlier reading)."""
    prefix = f"rn_bench_{run_id}_"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT datname, xact_commit + xact_rollback FROM pg_stat_database "
                            "WHERE datname LIKE %s", (prefix + "%",)).fetchall()
        work = {name.removeprefix(prefix): {"transactions": float(n)} for name, n in rows}
        try:
            stats = conn.execute(
                "SELECT d.datname, sum(s.calls), sum(s.total_exec_time) FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname LIKE %s GROUP BY 1",
                (prefix + "%",)).fetchall()
        except psycopg.Error:
            stats = []
    for name, calls, ms in stats:
        work.setdefault(name.removeprefix(prefix), {}).update(statements=float(calls), exec_ms=float(ms))
    if since:
        for name, figures in work.items():
            for key in figures:
                figures[key] -= since.get(name, {}).get(key, 0.0)
    return work


def _enable_statements(admin_url: str) -> None:
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except psycopg.Error:
        pass  # a shared server without the library: transactions are still counted


def _process_profile(path: Path, referrals: int) -> dict[str, Any]:
    data = json.loads(path.read_text())
    samples = max(data["samples"], 1)
    share = lambda n: round(100 * n / samples, 1)  # noqa: E731
    product = [(f, n) for f, n in data["inclusive"].items() if f.startswith(("services/", "gateway/"))]
    return {
        "sampled_cpu_ms_per_referral": 1e3 * data["samples"] * data["interval_s"] / max(referrals, 1),
        "layers_pct": {layer: share(n) for layer, n in data["layers"].items()},
        "product_functions_pct": [[f, share(n)] for f, n in product[:TOP_FUNCTIONS]],
        "hottest_pct": [[f, share(n)] for f, n in list(data["self"].items())[:8]],
    }


def run(smoke: bool, context: BenchContext | None = None) -> dict:
    """A steady load at about 70 % of the product's sustained rate (10/s without it)."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    rig = product_rig(context)
    sustained = (context.shared.get("product") or {}).get("sustained_rate")
    rate = max(5.0, round(0.7 * sustained)) if sustained else 10.0
    seconds = 3.0 if smoke else 20.0
    _enable_statements(context.postgres_admin)
    net = context.restart_network(SampledNetwork)
    pipe = rig.pipeline(workload.plan(smoke)["drain_seconds"])
    steps.warm_up(pipe, rate=min(rate, 20.0))
    for process in net.running.values():
        os.kill(process.pid, signal.SIGUSR2)  # forget start-up and warm-up
    before_db = _database_work(context.postgres_admin, context.run_id, None)
    figures = steps.run_once(pipe, lambda: open_loop(pipe.target, pipe.make, rate, seconds), rate,
                         round(rate * seconds))
    referrals = max(figures["accepted"], 1)
    database = _database_work(context.postgres_admin, context.run_id, before_db)
    context.stop_network()  # the samplers write their files as their processes stop
    context.shared.pop("rig")  # a later section would need a network seeded afresh
    processes = {name: _process_profile(context.logs / f"profile-{name}.json", referrals)
                 for name in PROCESSES}
    cpu = figures["cpu_ms_per_referral"]
    slowest = max(PROCESSES, key=lambda name: cpu.get(name, 0.0))
    return {
        "rate": rate, "seconds": seconds, "referrals": figures["accepted"],
        "stage_ms": {"post": figures["post_ms"], "post_to_proposed": figures["proposed_ms"],
                     "post_to_webhook": figures["notified_ms"]},
        "cpu_ms_per_referral": cpu, "slowest_stage": slowest, "processes": processes,
        "database_per_referral": {name: {k: v / referrals for k, v in work.items()}
                                  for name, work in database.items()},
    }
