"""Counting a process's database work: nothing unless asked for, then every statement and
transaction of a counted engine, written out on SIGUSR1 without any statement text."""

from __future__ import annotations

import json
import os
import signal

import pytest
from sqlalchemy import text

from services.kit import db_counts
from services.kit.db import make_engine


@pytest.fixture
def fresh_counts(monkeypatch):
    previous = signal.getsignal(signal.SIGUSR1)
    monkeypatch.setattr(db_counts, "_counts", None)
    yield
    signal.signal(signal.SIGUSR1, previous)


def test_nothing_is_counted_or_listened_for_without_the_variable(tmp_path, fresh_counts):
    engine = make_engine(f"sqlite:///{tmp_path / 'off.db'}")

    assert db_counts.count_engine(engine, "consent", environ={}) is False
    assert db_counts.counting({}) is None
    assert signal.getsignal(signal.SIGUSR1) is not None and db_counts._counts is None
    engine.dispose()


def test_statements_commits_and_rollbacks_are_counted_and_dumped_on_sigusr1(tmp_path, fresh_counts):
    environ = {db_counts.ENV: str(tmp_path / "counts")}
    engine = make_engine(f"sqlite:///{tmp_path / 'on.db'}")
    assert db_counts.count_engine(engine, "consent", environ=environ)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (secret TEXT)"))
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "participant-name"})
        conn.commit()
        conn.execute(text("SELECT secret FROM t")).all()
        conn.rollback()

    os.kill(os.getpid(), signal.SIGUSR1)

    written = (tmp_path / "counts" / f"{os.getpid()}.json").read_text()
    counts = json.loads(written)
    assert counts == {"service": "consent", "pid": os.getpid(), "dumps": 1, "statements": 3,
                      "commits": 1, "rollbacks": 1, "checkouts": 1, "pings": 0}
    assert "participant-name" not in written and "SELECT" not in written
    engine.dispose()
