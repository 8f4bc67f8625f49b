"""The markdown table of a results file: goals first, then each section's figures."""

from __future__ import annotations

from typing import Any


def _n(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def _pair(summary: dict | None, digits: int = 1) -> str:
    """``p50 / p99`` of a pooled distribution."""
    if not summary:
        return "—"
    return f"{_n(summary.get('p50'), digits)} / {_n(summary.get('p99'), digits)}"


def _rate(figure: dict | None, digits: int = 1) -> str:
    """``median (p99)`` of a per-run figure."""
    if not figure:
        return "—"
    return f"{_n(figure.get('median'), digits)} ({_n(figure.get('p99'), digits)})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows)]


def _goals(sections: dict) -> list[str]:
    rows = []
    for section, figures in sections.items():
        for name, g in (figures.get("goals") or {}).items():
            value = g.get("value", g.get("median"))
            target = g.get("goal")
            sign = "≤" if g.get("at_most", True) else "≥"
            shown = _n(value, 3 if abs(value or 0) < 10 else 1)
            if value is None and g.get("missing"):
                shown = f"— ({g['missing']})"
            rows.append([f"{section}: {name}", shown, f"{sign} {_n(target, 2)}",
                         "met" if g.get("met") else "**not met**", g.get("baseline") or "—"])
    return ["## Goals", "", *_table(["figure", "measured", "goal", "", "baseline (same run)"], rows), ""]


def _steps(title: str, figures: dict) -> list[str]:
    rows = []
    for step in [*figures["steps"], {**figures["flat_out"], "target_rate": "flat out"}]:
        if "skipped" in step:
            rows.append([_n(step["target_rate"], 0), f"not run ({step['skipped']})", *["—"] * 6])
            continue
        label = _n(step["target_rate"], 0)
        if step["target_rate"] == "flat out":
            label = f"flat out ({figures['flat_out']['clients']} clients)"
        rows.append([label, _n(step["sustained"]), _rate(step["accepted_rate"]),
                     _rate(step["proposed_rate"]), _pair(step["post_ms"]), _pair(step["proposed_ms"]),
                     _pair(step["notified_ms"]), f"{step['errors']} of {step['sent']}"])
    header = ["offered /s", "sustained", "accepted /s", "proposed /s", "POST ms p50 / p99",
              "POST → proposed ms", "POST → webhook ms", "errors"]
    return [f"## {title}", "", *_table(header, rows), ""]


# The bare pipeline's process standing in for each product process.
BARE_STAGE_OF = {"bare_gateway": "gateway", "bare_intake": "referrals", "bare_matcher": "matching",
                 "bare_notifier": "notifications"}


def _cpu(sections: dict) -> list[str]:
    bare = (sections.get("pipeline") or {}).get("flat_out", {}).get("cpu_ms_per_referral") or {}
    prod = (sections.get("product") or {}).get("flat_out", {}).get("cpu_ms_per_referral") or {}
    if not (bare or prod):
        return []
    names = list(prod) or [BARE_STAGE_OF.get(n, n) for n in bare]
    stage_of = {BARE_STAGE_OF.get(n, n): n for n in bare}
    rows = [[name, _n(bare.get(stage_of.get(name, "")), 2), _n(prod.get(name), 2)] for name in names]
    rows.append(["**total**", _n(sum(bare.values()), 2), _n(sum(prod.values()), 2)])
    return ["CPU milliseconds per referral, flat out (from /proc):", "",
            *_table(["process", "bare pipeline", "product"], rows), ""]


def _simple(title: str, pairs: list[tuple[str, str]]) -> list[str]:
    return [f"## {title}", "", *_table(["figure", "value"], [[k, v] for k, v in pairs]), ""]


def _sections(s: dict) -> list[str]:
    out: list[str] = []
    if b := s.get("broker"):
        out += _simple("1. Raw broker (messages/s, median (p99) of runs)", [
            ("publish, persistent, confirm per message", _rate(b["publish_confirmed_per_s"], 0)),
            (f"consume, ack per message, prefetch {b['prefetch']}", _rate(b["consume_acked_per_s"], 0))])
    if p := s.get("pipeline"):
        out += _steps("2. Bare pipeline (HTTP → RPC → event → event → webhook, handlers do nothing)", p)
    if p := s.get("product"):
        out += _steps("3. Product end to end", p)
        out += [f"Sustained rate (proposed/s flat out): {_n(p['sustained_rate'])}; bare pipeline "
                f"{_n(p['bare_pipeline_rate'])}; ratio {_n(p['ratio_to_bare_pipeline'], 3)}. "
                f"Highest sustained step: {_n(p['highest_sustained_step'], 0)}/s.", ""]
    out += _cpu(s)
    if c := s.get("consent"):
        a, v = c["authorize"], c["ledger_verify"]
        out += _simple("4. Consent", [
            ("authorize over RPC, ms p50 / p99", _pair(a["authorize_ms"], 2)),
            ("ping over RPC (baseline), ms p50 / p99", _pair(a["ping_ms"], 2)),
            ("authorize p50 ÷ ping p50", _n(a["p50_ratio_to_ping"], 2)),
            ("authorize p99 ÷ ping p99 (goal ≤ 1.5)", _n(a.get("p99_ratio_to_ping"), 2)),
            (f"verify_ledger over RPC, rows/s ({v['rows']:,} rows)", _rate(v["service_rows_per_s"], 0)),
            ("ChainVerifier in memory, rows as stored (baseline), rows/s", _rate(v["domain_rows_per_s"], 0)),
            ("ChainVerifier in memory, entries (the former path), rows/s",
             _rate(v.get("domain_entries_rows_per_s"), 0)),
            ("reading the rows alone (PostgreSQL → tuples, server-side cursor), rows/s",
             _n(v["read_rows_per_s"], 0)),
            ("service ÷ domain", _n(v["service_share_of_domain"], 2))])
    if m := s.get("matching"):
        rows = [(f"online pick, {f['mentors']:,} mentors, ms p50 / p99",
                 f"{_n(f['ms']['median'], 3)} / {_n(f['ms']['p99'], 3)}") for f in m["online_pick"]]
        rows += [(f"batch {f['referrals']:,} referrals: solve s median (+ scoring s), gap to optimum %",
                  f"{_n(f['solve_s']['median'], 3)} (+ {_n(f['score_s'], 2)}), {_n(f.get('gap_pct'), 3)}")
                 for f in m["batch"]]
        rows += [(f"load {f['load']}: greedy loses % of optimum; batch recovers %",
                  f"{_n(f['greedy_lost_pct'], 2)}; {_n(f['batch_recovered_pct'], 1)}")
                 for f in m["greedy_vs_optimum"]]
        out += _simple("5. Matching (single core, in process)", rows)
    if mem := s.get("memory"):
        pss, pss_load = mem.get("idle_pss_mb", {}), mem.get("under_load_pss_mb", {})
        rows = [(f"{name}: idle / under load, RSS (PSS)",
                 f"{_n(mem['idle_mb'][name])} ({_n(pss.get(name))}) / "
                 f"{_n(mem['under_load_mb'].get(name))} ({_n(pss_load.get(name))})")
                for name in mem["idle_mb"]]
        rows += [("whole network: idle / under load, RSS (PSS)",
                  f"{_n(mem['idle_total_mb'])} ({_n(mem.get('idle_pss_total_mb'))}) / "
                  f"{_n(mem['under_load_total_mb'])} ({_n(mem.get('under_load_pss_total_mb'))})"),
                 ("bare nameko process idle (baseline)", _n(mem["bare_nameko_process_idle_mb"])),
                 ("product process ÷ bare process, idle", _n(mem["idle_per_process_ratio_to_bare"], 2))]
        out += _simple("6. Memory (MB RSS; PSS in brackets)", rows)
    if sq := s.get("sqlite"):
        f = sq["flat_out"]
        out += _simple(f"7. The SQLite network of `make run`, {f['clients']} clients flat out", [
            ("accepted referrals/s", _rate(f["accepted_rate"])),
            ("proposed referrals/s", _rate(f["proposed_rate"])),
            ("POST ms p50 / p99", _pair(f["post_ms"])),
            ("POST → proposed ms p50 / p99", _pair(f["proposed_ms"])),
            ("CPU ms per referral, every process, broker and load generator",
             _n(sq["cpu_ms_per_referral_total"]))])
    if co := s.get("count"):
        out += _counts(co)
    if pr := s.get("profile"):
        out += _profile(pr)
    return out


def _counts(co: dict) -> list[str]:
    rows = [[name if name != "total" else "**total**", _n(f["transactions"]), _n(f["commits"]),
             _n(f["rollbacks"]), _n(f["statements"]), _n(f.get("checkouts")), _n(f.get("pings"))]
            for name, f in co["per_referral"].items()]
    return [f"## Database work per referral at {_n(co['rate'], 0)}/s for {_n(co['seconds'], 0)} s "
            f"({co['referrals']} referrals; counted in each process)", "",
            *_table(["process", "transactions", "commits", "rollbacks", "statements",
                       "pool checkouts", "pings"], rows), ""]


def _profile(pr: dict) -> list[str]:
    rows = []
    for name, proc in pr["processes"].items():
        layers = ", ".join(f"{k} {v:.0f} %" for k, v in list(proc["layers_pct"].items())[:4])
        rows.append([name, _n(pr["cpu_ms_per_referral"].get(name), 2), layers])
    db = [[name, _n(w.get("transactions"), 1), _n(w.get("statements"), 1), _n(w.get("exec_ms"), 2)]
          for name, w in pr["database_per_referral"].items()]
    slowest = pr["processes"][pr["slowest_stage"]]
    functions = [[f"`{name}`", f"{pct:.0f} %"] for name, pct in slowest["product_functions_pct"][:8]]
    return [f"## Profile at {_n(pr['rate'], 0)} referrals/s for {_n(pr['seconds'], 0)} s "
            f"(slowest stage: {pr['slowest_stage']})", "",
            *_table(["process", "CPU ms / referral", "where (share of samples)"], rows), "",
            f"Product functions of {pr['slowest_stage']}, share of its samples (inclusive):", "",
            *_table(["function", "share"], functions), "",
            *_table(["database", "transactions / referral", "statements / referral",
                     "exec ms / referral"], db),
            ""]


def markdown(results: dict) -> str:
    """The report of one ``python -m bench`` run."""
    m = results["machine"]
    lines = [
        f"# Benchmark results{' (smoke)' if results['smoke'] else ''} — {m['date']}", "",
        f"{m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB; Python {m['python']}, "
        f"RabbitMQ {m['rabbitmq']}, PostgreSQL {m['postgresql']}; commit {m['commit']}. "
        f"Load average at start {m['load_average_at_start']}, at end {m.get('load_average_at_end')}.", "",
        "Rates: median (p99) over the repeats. Latencies: p50 / p99 of every sample of every repeat.", "",
    ]
    lines += _goals(results["sections"])
    lines += _sections(results["sections"])
    for name, error in results["errors"].items():
        lines.append(f"**{name} failed:** {error}")
    return "\n".join(lines) + "\n"
