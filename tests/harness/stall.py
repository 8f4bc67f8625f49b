"""Stall one database, and only it: the shared servers are never stopped or reconfigured.

- PostgreSQL: every backend serving the database is stopped with SIGSTOP, and so is every new one
  that appears while the stall lasts (a client that reconnects meets the same silent server);
  SIGCONT wakes them all afterwards.
- SQLite: an outside connection holds an exclusive lock on the file until released.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg


def _backends(admin: psycopg.Connection, database: str) -> set[int]:
    rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                         (database,))
    return {row[0] for row in rows}


@contextmanager
def stalled_postgres(admin_url: str, database_url: str) -> Iterator[set[int]]:
    """Every backend of ``database_url``'s database stopped until the block ends; yields their pids.

    A new backend is stopped within about 20 ms of appearing: the keeper holds one admin
    connection and looks again at once, so a health check that opens a fresh connection meets a
    stopped server, not one that answers before the keeper looks."""
    database = urlsplit(database_url).path.lstrip("/")
    stopped: set[int] = set()
    ending = threading.Event()

    def stop_new_backends(admin: psycopg.Connection) -> None:
        while True:
            for pid in _backends(admin, database) - stopped:
                os.kill(pid, signal.SIGSTOP)
                stopped.add(pid)
            if ending.wait(0.02):
                return

    with psycopg.connect(admin_url, autocommit=True) as admin:
        for pid in _backends(admin, database):
            os.kill(pid, signal.SIGSTOP)
            stopped.add(pid)
        keeper = threading.Thread(target=stop_new_backends, args=(admin,), name="stall keeper",
                                  daemon=True)
        keeper.start()
        try:
            yield stopped
        finally:
            ending.set()
            keeper.join(timeout=5)
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass


@contextmanager
def locked_sqlite(database_url: str) -> Iterator[None]:
    """An exclusive write lock on the SQLite file of ``database_url`` until the block ends."""
    path = database_url.split("sqlite:///", 1)[1]
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()
