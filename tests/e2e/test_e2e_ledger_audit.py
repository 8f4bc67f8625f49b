"""An outside auditor checks the ledger through the gateway on the real network: the export and
the public key verify with the checkpoint log and the HMAC key alone; a tampered row and a tail
cut together with its stored checkpoints are reported by ``referral-network ledger verify``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from network.processes import BIN
from services.kit.db import make_engine
from tests.harness.journeys import grant_consent, refer

pytestmark = pytest.mark.e2e


def take_audit_copy(network, operator, folder: Path) -> dict[str, Path]:
    """The checkpoint log first, then the export and the public key, as an auditor takes them."""
    files = {"checkpoints": folder / "checkpoints.jsonl", "export": folder / "ledger.jsonl",
             "public_key": folder / "ledger.pem"}
    shutil.copyfile(network.env["LEDGER_CHECKPOINT_LOG"], files["checkpoints"])
    exported = operator.request("GET", "/v1/audit/ledger/export")
    assert exported.status_code == 200, exported.text
    assert exported.headers["Content-Type"].startswith("application/x-ndjson")
    files["export"].write_bytes(exported.content)
    key = requests.get(f"{network.base_url}/v1/audit/public-key", timeout=10)  # no API key needed
    assert key.status_code == 200 and key.headers["Content-Type"].startswith("application/x-pem-file")
    files["public_key"].write_text(key.text)
    return files


def outside_verify(network, files: dict[str, Path], folder: Path) -> tuple[int, dict]:
    """``referral-network ledger verify`` as an auditor runs it: no config, no database, no
    secret but the HMAC key (in a file)."""
    key_file = folder / "hmac.key"
    key_file.write_text(network.env["LEDGER_HMAC_KEY"])
    done = subprocess.run(
        [str(BIN / "referral-network"), "ledger", "verify", "--export", str(files["export"]),
         "--checkpoints", str(files["checkpoints"]), "--public-key", str(files["public_key"]),
         "--hmac-key-file", str(key_file)],
        cwd=folder, env={"PATH": os.environ["PATH"], "HOME": str(folder)},
        capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def some_ledger_rows(agencies) -> None:
    """A few grants and referrals: a ledger row each, enough to pass a checkpoint."""
    hospital = agencies["hospital"]
    for _ in range(3):
        refer(hospital, grant_consent(hospital, classes=("peer_group",)))


def test_the_export_and_public_key_verify_outside_the_network(network, operator, agencies, tmp_path):
    some_ledger_rows(agencies)
    files = take_audit_copy(network, operator, tmp_path)
    lines = files["export"].read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))

    code, result = outside_verify(network, files, tmp_path)
    assert (code, result["ok"], result["entries"]) == (0, True, len(lines)), result
    assert result["checkpointed"] >= 5  # every LEDGER_CHECKPOINT_EVERY rows, outside the database

    tampered = [json.loads(line) for line in lines]
    tampered[1]["actor"] = "someone-else"
    files["export"].write_text("".join(json.dumps(row) + "\n" for row in tampered))
    code, result = outside_verify(network, files, tmp_path)
    assert (code, result["ok"], result["kind"], result["first_bad_seq"]) == (1, False, "altered", 2)


def test_a_tail_cut_with_its_stored_checkpoints_is_reported_by_the_outside_verifier(
        network, operator, agencies, tmp_path):
    some_ledger_rows(agencies)
    network.stop("consent")  # a graceful stop: the head is signed into the checkpoint log
    engine = make_engine(network.env["CONSENT_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            head = conn.execute(text("SELECT max(seq) FROM ledger")).scalar_one()
            cut_from = head - 2
            rows = conn.execute(text("SELECT * FROM ledger WHERE seq >= :s"),
                                {"s": cut_from}).mappings().all()
            signed = conn.execute(text("SELECT * FROM ledger_checkpoints WHERE count >= :s"),
                                  {"s": cut_from}).mappings().all()
            assert any(c["count"] == head for c in signed)
            conn.execute(text("DELETE FROM ledger WHERE seq >= :s"), {"s": cut_from})
            conn.execute(text("DELETE FROM ledger_checkpoints WHERE count >= :s"), {"s": cut_from})
        try:
            network.start("consent")
            network.wait_ready()
            files = take_audit_copy(network, operator, tmp_path)
            code, result = outside_verify(network, files, tmp_path)
            assert (code, result["kind"], result["first_bad_seq"]) == (1, "truncated", cut_from), result
            assert operator.ok("GET", "/v1/audit/verify")["ok"] is False  # the service reads the log too
        finally:
            network.stop("consent")
            with engine.begin() as conn:  # the network's ledger as it was, for the other tests
                conn.execute(text("DELETE FROM ledger WHERE seq >= :s"), {"s": cut_from})
                conn.execute(text("DELETE FROM ledger_checkpoints WHERE count >= :s"), {"s": cut_from})
                for row in rows:
                    conn.execute(text("INSERT INTO ledger (seq, at, actor, action, subject, participant_id,"
                                      " details, prev_hash, hash) VALUES (:seq, :at, :actor, :action,"
                                      " :subject, :participant_id, :details, :prev_hash, :hash)"), dict(row))
                for checkpoint in signed:
                    conn.execute(text("INSERT INTO ledger_checkpoints (count, head_hash, at, signature)"
                                      " VALUES (:count, :head_hash, :at, :signature)"), dict(checkpoint))
            network.start("consent")
            network.wait_ready()
    finally:
        engine.dispose()
    assert operator.ok("GET", "/v1/audit/verify") == {"ok": True, "entries": head}


def test_only_admins_export_the_ledger(network, agencies):
    refused = agencies["hospital"].request("GET", "/v1/audit/ledger/export")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    anonymous = requests.get(f"{network.base_url}/v1/audit/ledger/export", timeout=10)
    assert anonymous.status_code == 401
