"""The ledger as an outside auditor sees it: the export, the checkpoint log kept outside the
database, the public key, and ``referral-network ledger verify --export ...`` over those files."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from services.consent import handlers
from services.consent.adapters.checkpoint_log import (
    CheckpointLog,
    CheckpointLogError,
    checkpoint_line,
    parse_checkpoint_lines,
)
from services.consent.domain import next_entry, sign_checkpoint
from services.consent.domain.commands import ExportLedger
from services.consent.ledger_export import (
    ExportLineError,
    load_public_key,
    parse_export_lines,
    verify_export,
)
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.cli import main as cli_main
from tests.unit.consent.conftest import NOW

HMAC_KEY = os.urandom(32)
SIGNING_KEY = Ed25519PrivateKey.generate()
PUBLIC_KEY = SIGNING_KEY.public_key()


def chain(rows: int) -> list:
    entries, head = [], None
    for n in range(rows):
        head = next_entry(head, HMAC_KEY, at=NOW + timedelta(seconds=n), actor="consent",
                          action="decision", subject=f"consent:{n}", participant_id=f"p-{n % 3}",
                          details={"permit": n % 2 == 0, "reason": "covered"})
        entries.append(head)
    return entries


def checkpoints_every(entries: list, every: int) -> list:
    return [sign_checkpoint(e, NOW, SIGNING_KEY) for e in entries if e.seq % every == 0]


def export_lines(entries: list) -> list[str]:
    return [json.dumps(e.as_dict()) + "\n" for e in entries]


def verify_files(entries: list, checkpoints: list, **kwargs) -> dict:
    return verify_export(parse_export_lines(export_lines(entries)), checkpoints, HMAC_KEY,
                         PUBLIC_KEY, **kwargs)


# -- the export --------------------------------------------------------------------------------

def test_the_export_gives_every_hashed_field_up_to_the_head_it_started_at(uow, ledger_keys):
    with uow:
        for n in range(7):
            uow.ledger.append(ledger_keys, at=NOW, actor="consent", action="access", subject=f"s:{n}")
        uow.commit()

    first = handlers.export_ledger(ExportLedger(limit=3), uow)
    assert first["head"] == 7 and [e["seq"] for e in first["items"]] == [1, 2, 3]
    assert set(first["items"][0]) == {"seq", "at", "actor", "action", "subject", "participant_id",
                                      "details", "prev_hash", "hash"}
    with uow:  # a row appended while the export runs is not part of it
        uow.ledger.append(ledger_keys, at=NOW, actor="consent", action="access", subject="late")
        uow.commit()
    rest = handlers.export_ledger(ExportLedger(limit=10, after_seq=3, up_to=first["head"]), uow)
    assert [e["seq"] for e in rest["items"]] == [4, 5, 6, 7] and rest["head"] == 7


def test_the_public_key_is_the_signing_keys_public_half_as_pem(ledger_keys):
    pem = handlers.public_key(ledger_keys)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    checkpoint = sign_checkpoint(chain(1)[0], NOW, ledger_keys.signing_key)
    assert checkpoint.is_authentic(load_public_key(pem.encode()))


# -- verifying an export -----------------------------------------------------------------------

def test_an_intact_export_verifies_and_says_how_many_rows_are_signed():
    entries = chain(23)
    result = verify_files(entries, checkpoints_every(entries, 10), chunk_size=4)
    assert result == {"ok": True, "entries": 23, "checkpointed": 20}


def test_a_tail_cut_after_the_last_outside_checkpoint_is_reported_as_truncated():
    entries = chain(30)
    outside = checkpoints_every(entries, 10)  # the last one covers 30 rows
    result = verify_files(entries[:27], outside)
    assert (result["ok"], result["kind"], result["first_bad_seq"]) == (False, "truncated", 28)


def test_a_tampered_row_in_the_export_is_named():
    entries = chain(12)
    lines = export_lines(entries)
    row = json.loads(lines[6])
    row["details"]["permit"] = not row["details"]["permit"]
    lines[6] = json.dumps(row) + "\n"
    result = verify_export(parse_export_lines(lines), checkpoints_every(entries, 5), HMAC_KEY, PUBLIC_KEY)
    assert (result["ok"], result["kind"], result["first_bad_seq"]) == (False, "altered", 7)


def test_a_checkpoint_with_a_bad_signature_is_reported():
    entries = chain(12)
    forged = checkpoints_every(entries, 5)
    forged[-1] = type(forged[-1])(forged[-1].count, forged[-1].head_hash, forged[-1].at,
                                  "00" * 64)
    result = verify_files(entries, forged)
    assert (result["ok"], result["kind"]) == (False, "forged_checkpoint")


def test_a_line_that_is_not_an_entry_is_named_by_its_number():
    entries = chain(4)
    lines = export_lines(entries)
    lines[2] = '{"seq": "three"}\n'
    with pytest.raises(ExportLineError, match="line 3"):
        list(parse_export_lines(lines))
    result = verify_export(parse_export_lines(lines), [], HMAC_KEY, PUBLIC_KEY)
    assert result["ok"] is False and "line 3" in result["problem"]


# -- the checkpoint log ------------------------------------------------------------------------

def test_the_checkpoint_log_appends_lines_readable_only_by_its_owner(tmp_path):
    entries = chain(20)
    signed = checkpoints_every(entries, 10)
    log = CheckpointLog(tmp_path / "deep" / "checkpoints.jsonl")
    log.append(signed[:1])
    log.append(signed[1:])
    assert log.read() == signed
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    assert json.loads(log.path.read_text().splitlines()[0]) == {
        "seq": 10, "head_hash": entries[9].hash, "at": signed[0].at, "signature": signed[0].signature}


def test_a_checkpoint_log_line_that_is_not_a_checkpoint_is_named():
    good = checkpoint_line(checkpoints_every(chain(5), 5)[0])
    with pytest.raises(CheckpointLogError, match="line 2"):
        parse_checkpoint_lines([good, '{"seq": 5}'])


def test_a_checkpoint_reaches_the_log_only_when_its_transaction_commits(tmp_path):
    log = CheckpointLog(tmp_path / "checkpoints.jsonl")
    signed = checkpoints_every(chain(6), 3)
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        log.append_after_commit(session, signed[0])
        session.rollback()
        assert log.read() == []
        session.execute(text("SELECT 1"))
        log.append_after_commit(session, signed[1])
        assert log.read() == []
        session.commit()
    assert log.read() == [signed[1]]
    engine.dispose()


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def auditor_files(tmp_path) -> dict[str, Path]:
    entries = chain(15)
    files = {"export": tmp_path / "ledger.jsonl", "checkpoints": tmp_path / "checkpoints.jsonl",
             "public_key": tmp_path / "key.pem", "hmac": tmp_path / "hmac.key"}
    files["export"].write_text("".join(export_lines(entries)))
    CheckpointLog(files["checkpoints"]).append(checkpoints_every(entries, 5))
    keys = LedgerKeyPair(HMAC_KEY, SIGNING_KEY)
    files["public_key"].write_text(keys.public_key_pem())
    files["hmac"].write_text(base64.b64encode(HMAC_KEY).decode() + "\n")
    return files


def run_verify(files: dict[str, Path], capsys, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_main(["ledger", "verify", "--export", str(files["export"]),
                     "--checkpoints", str(files["checkpoints"]),
                     "--public-key", str(files["public_key"]), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_verifies_an_export_with_the_hmac_key_file(auditor_files, capsys):
    code, out, _ = run_verify(auditor_files, capsys, "--hmac-key-file", str(auditor_files["hmac"]))
    assert (code, json.loads(out)) == (0, {"ok": True, "entries": 15, "checkpointed": 15})


def test_the_command_reads_the_hmac_key_from_the_environment(auditor_files, capsys, monkeypatch):
    monkeypatch.setenv("LEDGER_HMAC_KEY", base64.b64encode(HMAC_KEY).decode())
    lines = auditor_files["export"].read_text().splitlines(keepends=True)
    auditor_files["export"].write_text("".join(lines[:-2]))  # the last two rows cut
    code, out, _ = run_verify(auditor_files, capsys)
    assert code == 1 and json.loads(out)["kind"] == "truncated"


def test_the_command_refuses_a_wrong_hmac_key_as_a_broken_chain(auditor_files, capsys):
    auditor_files["hmac"].write_text(base64.b64encode(os.urandom(32)).decode())
    code, out, _ = run_verify(auditor_files, capsys, "--hmac-key-file", str(auditor_files["hmac"]))
    assert code == 1 and json.loads(out)["first_bad_seq"] == 1


def test_the_command_needs_all_three_files_and_a_key(auditor_files, capsys, monkeypatch):
    monkeypatch.delenv("LEDGER_HMAC_KEY", raising=False)
    capsys.readouterr()
    assert cli_main(["ledger", "verify", "--export", str(auditor_files["export"])]) == 2
    code, out, err = run_verify(auditor_files, capsys)
    assert (code, out) == (2, "") and "LEDGER_HMAC_KEY is not set" in err
    auditor_files["public_key"].write_text("not a key")
    code, _, err = run_verify(auditor_files, capsys, "--hmac-key-file", str(auditor_files["hmac"]))
    assert code == 2 and "ledger verify:" in err
