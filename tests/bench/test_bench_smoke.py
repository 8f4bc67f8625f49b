"""``python -m bench --smoke`` runs every benchmark end to end and writes every section's
figures, so the harness cannot rot. The figures are only checked to be there and to be
numbers: this machine is shared, so how fast anything was is never asserted."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SECTIONS = {"broker", "pipeline", "product", "consent", "memory", "count", "profile", "sqlite",
            "matching"}
# Only a guard against a hung run; a smoke run takes about a minute and a quarter here.
HANG_GUARD_SECONDS = 600


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def stepped_figures_present(section: dict) -> None:
    step, flat = section["steps"][0], section["flat_out"]
    for run in (step, flat):
        assert is_number(run["accepted_rate"]["median"]) and run["accepted_rate"]["median"] > 0
        for latency in ("post_ms", "proposed_ms", "notified_ms"):
            assert is_number(run[latency]["p50"]) and is_number(run[latency]["p99"]), latency
    assert all(is_number(ms) for ms in flat["cpu_ms_per_referral"].values())


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=HANG_GUARD_SECONDS)
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return json.loads((out / "smoke.json").read_text()), (out / "smoke.md").read_text()


def test_smoke_run_measures_every_section_without_errors(smoke):
    results, _markdown = smoke
    assert set(results["sections"]) == SECTIONS
    assert results["errors"] == {}
    assert is_number(results["machine"]["cores"]) and results["machine"]["cpu_model"]


def test_baselines_and_the_product_report_rates_latencies_and_their_ratio(smoke):
    sections = smoke[0]["sections"]
    assert sections["broker"]["publish_confirmed_per_s"]["median"] > 0
    assert sections["broker"]["consume_acked_per_s"]["median"] > 0
    stepped_figures_present(sections["pipeline"])
    stepped_figures_present(sections["product"])
    assert is_number(sections["product"]["ratio_to_bare_pipeline"])
    assert set(sections["product"]["goals"]) == {
        "share_of_bare_pipeline", "cpu_ms_per_referral", "post_p99_ms", "proposed_p99_ms"}
    assert all(g["baseline"] for name, g in sections["product"]["goals"].items()
               if name in ("share_of_bare_pipeline", "cpu_ms_per_referral"))
    sqlite = sections["sqlite"]
    assert sqlite["accepted_rate"] > 0 and sqlite["proposed_rate"] > 0
    assert is_number(sqlite["cpu_ms_per_referral_total"])
    assert sqlite["goals"]["sqlite_accepted_per_s_8_clients"]["baseline"]


def test_consent_memory_profile_and_matching_report_numbers(smoke):
    sections = smoke[0]["sections"]
    consent = sections["consent"]
    assert is_number(consent["authorize"]["authorize_ms"]["p99"])
    assert is_number(consent["authorize"]["ping_ms"]["p99"])
    assert consent["ledger_verify"]["service_rows_per_s"]["median"] > 0
    assert consent["ledger_verify"]["domain_rows_per_s"]["median"] > 0
    assert is_number(consent["authorize"]["p99_ratio_to_ping"])
    assert set(consent["goals"]) == {"authorize_p99_ms", "authorize_p99_over_ping_p99", "verify_rows_per_s"}
    assert all(g["baseline"] for g in consent["goals"].values())
    memory = sections["memory"]
    assert set(memory["idle_mb"]) == {"consent", "referrals", "matching", "notifications", "engagement",
                                      "outcomes", "gateway"}
    assert memory["idle_total_mb"] > 0 and memory["under_load_total_mb"] > 0
    for figure in ("idle_mb", "under_load_mb", "idle_pss_mb", "under_load_pss_mb"):
        assert set(memory[figure]) == set(memory["idle_mb"]), figure
        assert all(is_number(mb) and mb > 0 for mb in memory[figure].values()), figure
    # PSS counts the pages processes share once across them: the network's sum is below RSS's.
    assert 0 < memory["idle_pss_total_mb"] < memory["idle_total_mb"]
    assert 0 < memory["under_load_pss_total_mb"] < memory["under_load_total_mb"]
    counted = sections["count"]["per_referral"]
    assert set(counted) == {*memory["idle_mb"], "total"}
    assert all(is_number(f[key]) for f in counted.values()
               for key in ("statements", "commits", "rollbacks", "transactions"))
    assert counted["total"]["statements"] > 0 and counted["total"]["commits"] > 0
    profile = sections["profile"]
    assert profile["slowest_stage"] in memory["idle_mb"]
    assert all(p["layers_pct"] for p in profile["processes"].values())
    assert is_number(sections["matching"]["online_pick"][-1]["ms"]["median"])
    assert is_number(sections["matching"]["batch"][0]["gap_pct"])


def test_the_markdown_table_has_every_section(smoke):
    markdown = smoke[1]
    for heading in ("## Goals", "1. Raw broker", "2. Bare pipeline", "3. Product", "4. Consent",
                    "5. Matching", "6. Memory", "## Database work per referral", "## Profile"):
        assert heading in markdown
