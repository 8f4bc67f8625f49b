"""Consent: the ``authorize`` decision point over RPC, and verifying the audit ledger.

- authorize: sequential calls from a standalone nameko RPC client to the running consent
  service, each a real decision written to the ledger; the baseline is ``consent.ping`` over
  the same client (nameko's RPC round trip with nothing behind it).
- ledger verify: the ledger grown to N rows (``bench/ledger_fill.py``), then the service's
  ``verify_ledger`` over RPC (streams the rows from PostgreSQL through a server-side cursor,
  checks every row and checkpoint); the baselines are the domain's ``ChainVerifier`` alone
  over the same rows held in memory (``feed_rows``, as the service feeds them, and ``feed``
  of entries, as it fed them before), and reading the rows alone.
"""

from __future__ import annotations

import time
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import sessionmaker

from bench.context import BenchContext
from bench.ledger_fill import fill
from bench.rig import product_rig
from bench.stats import across_runs, goal, ratio, summary, timed
from services.consent.adapters import checkpoints, ledger_rows
from services.consent.domain import ChainVerifier, LedgerEntry
from services.consent.ledger_keys import load_ledger_keys
from services.kit.db import make_engine

GOALS = {"authorize_p99_ms": 5.0, "authorize_p99_over_ping_p99": 1.5, "verify_rows_per_s": 200_000.0}


def _calls(call, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return samples


def _authorize(context: BenchContext, calls: int, repeats: int) -> dict[str, Any]:
    rig = product_rig(context)
    referrer, consent = rig.seeded.consents[0]
    request = {"discloser": referrer.id, "recipient": {"class": "peer_group"},
               "purpose": "peer-support-referral", "data_classes": ["referral-reason"],
               "participant_id": consent["participant_id"], "consent_id": consent["id"]}
    with ClusterRpcProxy({"AMQP_URI": context.amqp_uri}, timeout=30) as rpc:
        assert rpc.consent.authorize(**request)["permit"], "the benchmark's consent must permit"
        _calls(rpc.consent.ping, 50)  # warm up: reply queue, connections, caches
        pings, decisions = [], []
        for _ in range(repeats):
            pings += _calls(rpc.consent.ping, calls)
            decisions += _calls(lambda: rpc.consent.authorize(**request), calls)
    figures = {"calls": calls * repeats, "authorize_ms": summary(decisions), "ping_ms": summary(pings)}
    figures["p50_ratio_to_ping"] = ratio(figures["authorize_ms"]["p50"], figures["ping_ms"]["p50"])
    figures["p99_ratio_to_ping"] = ratio(figures["authorize_ms"]["p99"], figures["ping_ms"]["p99"])
    return figures


def _verify(context: BenchContext, rows: int, repeats: int) -> dict[str, Any]:
    env = context.network().env
    url = env["CONSENT_DATABASE_URL"]
    size = fill(url, env, rows)
    with ClusterRpcProxy({"AMQP_URI": context.amqp_uri}, timeout=600) as rpc:
        service_runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            answer = rpc.consent.verify_ledger()
            service_runs.append(answer["entries"] / (time.perf_counter() - start))
            if not answer["ok"]:
                raise RuntimeError(f"the ledger did not verify: {answer}")
    keys = load_ledger_keys(env)
    engine = make_engine(url, pool_size=1)
    with sessionmaker(engine)() as session:
        # Reading alone (PostgreSQL to rows, as the service streams them) is timed too.
        read_s, chunks = timed(lambda: list(ledger_rows.stream_rows(session, 5_000)))
        signed = checkpoints.load_all(session)
    engine.dispose()
    rows = [row for chunk in chunks for row in chunk]
    entries = [LedgerEntry.from_row(row) for row in rows]

    def in_memory(feed) -> list[float]:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            verifier = ChainVerifier(keys.hmac_key, keys.signing_key.public_key(), signed)
            feed(verifier)
            result = verifier.finish()
            runs.append(result.entries / (time.perf_counter() - start))
            if not result.ok:
                raise RuntimeError(f"the ledger did not verify in the domain: {result}")
        return runs

    domain_runs = in_memory(lambda v: [v.feed_rows(rows[i:i + 5_000]) for i in range(0, len(rows), 5_000)])
    entry_runs = in_memory(lambda v: v.feed(entries))
    return {"rows": size, "service_rows_per_s": across_runs(service_runs),
            "domain_rows_per_s": across_runs(domain_runs),
            "domain_entries_rows_per_s": across_runs(entry_runs),
            "read_rows_per_s": len(rows) / read_s,
            "service_share_of_domain": ratio(across_runs(service_runs)["median"],
                                             across_runs(domain_runs)["median"])}


def run(smoke: bool, context: BenchContext | None = None) -> dict:
    """Authorize latency (with the RPC baseline) and ledger verification rates."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    calls, rows, repeats = (100, 2_000, 1) if smoke else (1_000, 100_000, 3)
    figures = {"authorize": _authorize(context, calls, repeats),
               "ledger_verify": _verify(context, rows, repeats)}
    a, v = figures["authorize"], figures["ledger_verify"]
    ping = f"ping p99 {a['ping_ms']['p99']:.2f} ms (p50 {a['ping_ms']['p50']:.2f})"
    figures["goals"] = {
        "authorize_p99_ms": goal(a["authorize_ms"]["p99"], GOALS["authorize_p99_ms"], at_most=True,
                                 baseline=ping),
        "authorize_p99_over_ping_p99": goal(a["p99_ratio_to_ping"], GOALS["authorize_p99_over_ping_p99"],
                                            at_most=True, baseline=ping),
        "verify_rows_per_s": goal(
            v["service_rows_per_s"]["median"], GOALS["verify_rows_per_s"], at_most=False,
            baseline=(f"verifier in memory {v['domain_rows_per_s']['median']:,.0f} rows/s; "
                      f"reading alone {v['read_rows_per_s']:,.0f} rows/s")),
    }
    return figures
