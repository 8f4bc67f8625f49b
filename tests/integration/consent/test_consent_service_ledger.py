"""The audit ledger for real: concurrent writers never fork the chain, and every kind of
tampering done with raw SQL is named at its row, by RPC and by ``referral-network ledger verify``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import eventlet
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.consent.adapters import checkpoints, ledger_rows
from services.consent.adapters.orm import ledger, ledger_checkpoints
from services.consent.ledger_keys import load_ledger_keys
from services.kit.cli import main as cli_main
from services.kit.db import make_engine
from services.kit.errors import InvalidRequest
from tests.integration.consent.support import HOSPITAL, OPERATOR, PEER_2, ask, grant_request
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[3]
WRITERS, APPENDS = 8, 200
on_postgres = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def ledger_column(url: str, column: str = "seq") -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(ledger.c[column]).order_by(ledger.c.seq)).scalars())
    finally:
        engine.dispose()


def cli_verify(config: dict, monkeypatch, capsys) -> tuple[int, dict, str]:
    """``referral-network ledger verify`` with the service's own config.yml and environment."""
    monkeypatch.setenv("CONSENT_DATABASE_URL", config["DATABASE_URL"])
    for name in ("FIELD_ENCRYPTION_KEYS", "LEDGER_HMAC_KEY", "LEDGER_SIGNING_KEY"):
        monkeypatch.setenv(name, config[name])
    # This ledger's checkpoints only: not the log of a `make run` network under ./var.
    monkeypatch.setenv("LEDGER_CHECKPOINT_LOG", config.get("LEDGER_CHECKPOINT_LOG") or "")
    capsys.readouterr()
    code = cli_main(["ledger", "verify", "--chunk", "7"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_concurrent_rpc_decisions_keep_one_unbroken_chain(consent):
    granted = consent.grant(HOSPITAL, grant_request())
    replies = [consent.authorize.call_async(**ask(granted, recipient=PEER_2)) for _ in range(8 * 25)]
    assert all(reply.result()["permit"] for reply in replies)

    assert consent.verify_ledger() == {"ok": True, "entries": 1 + 8 * 25}


@pytest.mark.slow
@on_postgres
def test_eight_writer_processes_never_fork_the_chain_on_postgresql(consent, config, tmp_path,
                                                                    monkeypatch, capsys):
    url = config["DATABASE_URL"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LEDGER_HMAC_KEY": config["LEDGER_HMAC_KEY"],
           "LEDGER_SIGNING_KEY": config["LEDGER_SIGNING_KEY"], "LEDGER_CHECKPOINT_EVERY": "100"}
    writers = [subprocess.Popen(
        [sys.executable, "-m", "tests.integration.consent.ledger_writer", url, str(n), str(APPENDS),
         str(tmp_path)], cwd=ROOT, env=env) for n in range(WRITERS)]
    try:
        wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == WRITERS, timeout=60)
        started = time.monotonic()
        (tmp_path / "go").touch()
        assert [writer.wait(timeout=300) for writer in writers] == [0] * WRITERS
        elapsed = time.monotonic() - started
    finally:
        for writer in writers:  # none is left holding a connection when the test fails
            if writer.poll() is None:
                writer.kill()
                writer.wait()

    verified = consent.verify_ledger()
    assert verified == {"ok": True, "entries": WRITERS * APPENDS}
    assert ledger_column(url) == list(range(1, WRITERS * APPENDS + 1))
    subjects = ledger_column(url, "subject")
    assert len(set(subjects)) == WRITERS * APPENDS
    actors = ledger_column(url, "actor")
    interleaved = sum(1 for a, b in zip(actors, actors[1:], strict=False) if a != b)
    assert interleaved > WRITERS  # the writers really ran at the same time
    code, printed, _ = cli_verify(config, monkeypatch, capsys)
    assert (code, printed) == (0, verified)
    print(f"\n{WRITERS}x{APPENDS} appends on PostgreSQL: {elapsed:.1f}s "
          f"({WRITERS * APPENDS / elapsed:.0f} appends/s), {interleaved} writer switches")


def test_each_kind_of_tampering_is_named_at_its_row(start_service, config, monkeypatch, capsys):
    consent = start_service(config, LEDGER_CHECKPOINT_SECONDS=0.1)
    granted = consent.grant(HOSPITAL, grant_request())
    for i in range(24):
        consent.record_access(actor="peer-1", participant_id=granted["participant_id"],
                              what=f"handoff:ref-{i}")
    url = config["DATABASE_URL"]
    engine = make_engine(url)
    wait_for(lambda: 25 in checkpoint_counts(engine))  # the timer signed the head
    signed = checkpoint_counts(engine)
    assert {10, 20} <= set(signed)  # and every 10 appends
    assert consent.verify_ledger() == {"ok": True, "entries": 25}
    assert cli_verify(config, monkeypatch, capsys)[:2] == (0, {"ok": True, "entries": 25})
    original = [dict(row) for row in engine.connect().execute(select(ledger)).mappings()]

    cases = [
        ("altered", 7, ["UPDATE ledger SET actor = 'peer-9' WHERE seq = 7"]),
        ("deleted", 12, ["DELETE FROM ledger WHERE seq = 12"]),
        ("reordered", 5, ["UPDATE ledger SET seq = -5 WHERE seq = 5",
                          "UPDATE ledger SET seq = 5 WHERE seq = 6",
                          "UPDATE ledger SET seq = 6 WHERE seq = -5"]),
        ("inserted", 15, ["UPDATE ledger SET seq = -seq - 1 WHERE seq >= 15",
                          "UPDATE ledger SET seq = -seq WHERE seq < 0",
                          "INSERT INTO ledger (seq, at, actor, action, subject, participant_id, details,"
                          " prev_hash, hash) SELECT 15, at, actor, action, 'handoff:forged',"
                          " participant_id, details, hash, '" + "f" * 64 + "' FROM ledger WHERE seq = 14"]),
        ("truncated", 25, ["DELETE FROM ledger WHERE seq > 24"]),
    ]
    for kind, seq, statements in cases:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
        found = consent.verify_ledger()
        assert (found["ok"], found["kind"], found["first_bad_seq"]) == (False, kind, seq), found
        code, printed, progress = cli_verify(config, monkeypatch, capsys)
        assert (code, printed) == (1, found)
        assert "rows" in progress
        eventlet.sleep(0.3)  # the checkpoint timer ran meanwhile: it must not vouch for tampering
        assert checkpoint_counts(engine) == signed
        restore(engine, original)
        assert consent.verify_ledger() == {"ok": True, "entries": 25}
    engine.dispose()


def test_a_head_read_before_the_ledger_changed_under_it_is_not_signed(consent, config):
    """The timer reads the head, then verifies the rows since the last checkpoint. Someone
    restoring the ledger between the two reads (raw SQL takes no lock) must not get a signature
    over a head that is no longer there."""
    granted = consent.grant(HOSPITAL, grant_request())
    for i in range(4):
        consent.record_access(actor="peer-1", participant_id=granted["participant_id"], what=f"r-{i}")
    engine = make_engine(config["DATABASE_URL"])
    keys = load_ledger_keys(config)
    before = checkpoint_counts(engine)
    try:
        with Session(engine) as session:
            read_before = ledger_rows.head(session)
            session.rollback()
        with engine.begin() as conn:  # the tail is cut after the head was read
            conn.execute(text(f"DELETE FROM ledger WHERE seq = {read_before.seq}"))
        with Session(engine) as session, session.begin():
            assert checkpoints.sign_head(session, keys, read_before, datetime.now(UTC)) is None
        assert checkpoint_counts(engine) == before
        with Session(engine) as session, session.begin():  # the head as it is now is signed
            signed = checkpoints.sign_head(session, keys, ledger_rows.head(session), datetime.now(UTC))
        assert signed is not None and signed.count == read_before.seq - 1
    finally:
        engine.dispose()


def checkpoint_counts(engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(
            select(ledger_checkpoints.c.count).order_by(ledger_checkpoints.c.count)).scalars())


def restore(engine, rows: list[dict]) -> None:
    with engine.begin() as conn:
        conn.execute(ledger.delete())
        conn.execute(ledger.insert(), rows)


def test_the_command_line_explains_missing_keys(monkeypatch, capsys):
    monkeypatch.delenv("LEDGER_HMAC_KEY", raising=False)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", "k1:unused")
    assert cli_main(["ledger", "verify"]) == 2
    assert "LEDGER_HMAC_KEY" in capsys.readouterr().err


def test_the_ledger_reads_in_pages_by_participant_and_since_a_time(consent):
    first, second = consent.grant(HOSPITAL, grant_request()), consent.grant(HOSPITAL, grant_request())
    for i in range(5):
        consent.record_access(actor="peer-1", participant_id=first["participant_id"], what=f"handoff:r-{i}")

    pages, page = [], None
    while True:
        answer = consent.ledger(OPERATOR, {"limit": 3, **({"page": page} if page else {})})
        pages.append([e["seq"] for e in answer["items"]])
        if not (page := answer["next_page"]):
            break
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    theirs = consent.ledger(OPERATOR, {"participant": second["participant_id"]})["items"]
    assert [e["action"] for e in theirs] == ["consent.granted"]
    assert consent.ledger(OPERATOR, {"since": "2999-01-01T00:00:00+00:00"})["items"] == []
    assert len(consent.ledger(OPERATOR, {"since": first["granted_at"]})["items"]) == 7
    with pytest.raises(InvalidRequest):
        consent.ledger(OPERATOR, {"page": "not-a-page"})


def test_administrative_changes_are_ledgered_and_filtered_by_actor_agency_and_action(consent):
    clinic = {"agency_id": "clinic-2", "kind": "clinic", "roles": ["admin"], "actor": "key:rotation-bot"}
    consent.record_change(OPERATOR, {"action": "agency.created", "subject": "clinic-2",
                                     "details": {"kind": "clinic", "roles": ["admin"]}})
    consent.record_change(clinic, {"action": "key.revoked", "subject": "k-1",
                                   "details": {"agency_id": "clinic-2", "key_name": "old"}})
    consent.grant(HOSPITAL, grant_request())

    def subjects(caller=OPERATOR, **filters) -> list[str]:
        return [e["subject"] for e in consent.ledger(caller, filters)["items"]]

    assert subjects(actor="key:ops") == ["clinic-2"]
    assert subjects(actor="key:rotation_bot") == []  # "_" matches itself only
    assert subjects(agency="clinic-2") == ["k-1"]
    assert subjects(action="agency.created") == ["clinic-2"]
    assert subjects(clinic) == ["k-1"]  # an agency reads the rows about itself only
    [row] = consent.ledger(clinic, {})["items"]
    assert (row["agency_id"], row["actor"], row["action"]) == ("clinic-2", "key:rotation-bot", "key.revoked")
    with pytest.raises(InvalidRequest):
        consent.record_change(clinic, {"action": "key.revoked", "subject": "k-1",
                                       "details": {"name": "Ana Ruiz"}})  # personal keys never
