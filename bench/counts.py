"""Database work per referral, counted inside each process: statements, commits, rollbacks.

The product's processes are restarted with ``DB_COUNTS_DIR`` set, so each service engine counts
its statements and transactions with SQLAlchemy engine events (``services/kit/db_counts.py``;
nothing is counted when the variable is unset). After a warm-up every process is asked for its
totals (``SIGUSR1``), a steady load runs until every referral was proposed and notified, the
totals are asked for again, and the difference is divided by the referrals accepted. A ping of
a pooled connection that sat idle is one more round trip (``SELECT 1``), counted apart from the
statements. Unlike
``pg_stat_statements`` in the profile section, this counts on SQLite too and names the process.
Timers (dispatch, escalation, the outbox relay's sweep) run meanwhile and are counted with
the referrals: they are part of what a referral costs at that rate.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from bench import steps, workload
from bench.context import BenchContext
from bench.load import open_loop
from bench.rig import product_rig
from services.kit.db_counts import ENV

FIGURES = ("statements", "commits", "rollbacks", "checkouts", "pings")


def ask(pids: dict[str, int], directory: Path, timeout: float = 10.0) -> dict[str, dict[str, int]]:
    """Every process's cumulative counts, by process name, fresh from a ``SIGUSR1`` each."""
    previous = {name: _read(directory / f"{pid}.json") for name, pid in pids.items()}
    for pid in pids.values():
        os.kill(pid, signal.SIGUSR1)
    deadline, answered = time.monotonic() + timeout, {}
    while len(answered) < len(pids):
        for name, pid in pids.items():
            found = _read(directory / f"{pid}.json")
            if found and found["dumps"] > (previous[name] or {}).get("dumps", 0):
                answered[name] = found
        if time.monotonic() > deadline:
            missing = sorted(set(pids) - set(answered))
            raise RuntimeError(f"no database counts from {missing} (is DB_COUNTS_DIR honoured?)")
        time.sleep(0.02)
    return answered


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def per_referral(before: dict, after: dict, referrals: int) -> dict[str, dict[str, float]]:
    table = {name: {key: (after[name][key] - before[name][key]) / max(referrals, 1) for key in FIGURES}
             for name in after}
    for figures in table.values():
        figures["transactions"] = figures["commits"] + figures["rollbacks"]
    table["total"] = {key: sum(f[key] for f in table.values()) for key in (*FIGURES, "transactions")}
    return table


def run(smoke: bool, context: BenchContext | None = None) -> dict[str, Any]:
    """Counts per referral at a steady 10/s (8 s; 3 s in smoke)."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    rig = product_rig(context)
    directory = context.logs / "db-counts"
    rate, seconds = 10.0, 3.0 if smoke else 8.0
    plain = context.network().env
    net = context.restart_network(env={**plain, ENV: str(directory)})
    try:
        pipe = rig.pipeline(workload.plan(smoke)["drain_seconds"])
        steps.warm_up(pipe, rate=rate)
        pids = {name: p.pid for name, p in net.running.items()}
        before = ask(pids, directory)
        figures = steps.run_once(pipe, lambda: open_loop(pipe.target, pipe.make, rate, seconds), rate,
                                 round(rate * seconds))
        after = ask(pids, directory)
    finally:
        context.stop_network_until_used(plain)  # counting off for the sections after this one
    return {"rate": rate, "seconds": seconds, "referrals": figures["accepted"],
            "missing_proposals": figures["missing_proposals"],
            "per_referral": per_referral(before, after, figures["accepted"])}
