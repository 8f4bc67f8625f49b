"""What rests on disk is its owner's only: SQLite database files (and their WAL) are created
readable and writable by the owner alone, and an older, more open file is closed down."""

from __future__ import annotations

import os
import stat

from sqlalchemy import text

from gateway.entrypoint import request_line_without_query
from services.kit.db import make_engine


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_database_and_its_wal_are_the_owners_only(tmp_path):
    path = tmp_path / "var" / "referrals.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('canary')"))
        assert mode(path) == 0o600
        assert mode(f"{path}-wal") == 0o600
    engine.dispose()


def test_an_existing_database_readable_by_others_is_closed_down(tmp_path):
    path = tmp_path / "consent.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_a_request_line_keeps_its_path_and_drops_its_query():
    assert request_line_without_query("GET /v1/audit/ledger?participant=x&since=y HTTP/1.1") == \
        "GET /v1/audit/ledger HTTP/1.1"
    assert request_line_without_query("GET /health HTTP/1.1") == "GET /health HTTP/1.1"
    assert request_line_without_query("garbage") == "garbage"
