"""Counting a process's database work: statements, commits and rollbacks, by engine events.

Off unless ``DB_COUNTS_DIR`` names a directory (the benchmark's ``count`` section sets it):
then every service engine counts, and on ``SIGUSR1`` the process writes its cumulative
counts to ``<DB_COUNTS_DIR>/<pid>.json`` (``{"service", "pid", "dumps", "statements",
"commits", "rollbacks", "checkouts", "pings"}``, replaced atomically; ``dumps`` tells a reader
which signal the file answers). Nothing is listened to and no signal is taken when the variable is unset.

Only counts leave the process: never a statement's text or its parameters.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from sqlalchemy import Engine, event

ENV = "DB_COUNTS_DIR"


class Counts:
    """One process's running totals; ``dump`` writes them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.services: set[str] = set()
        self.statements = self.commits = self.rollbacks = self.checkouts = self.pings = self.dumps = 0

    def as_dict(self) -> dict:
        return {"service": ",".join(sorted(self.services)), "pid": os.getpid(), "dumps": self.dumps,
                "statements": self.statements, "commits": self.commits, "rollbacks": self.rollbacks,
                "checkouts": self.checkouts, "pings": self.pings}

    def dump(self) -> Path:
        self.dumps += 1
        target = self.directory / f"{os.getpid()}.json"
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(self.as_dict()))
        partial.replace(target)
        return target


_counts: Counts | None = None


def counting(environ: dict[str, str] | None = None) -> Counts | None:
    """This process's counts when ``DB_COUNTS_DIR`` is set (created on first use), else None."""
    global _counts
    directory = (os.environ if environ is None else environ).get(ENV, "")
    if not directory:
        return None
    if _counts is None:
        _counts = Counts(Path(directory))
        _counts.directory.mkdir(parents=True, exist_ok=True)
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: _counts.dump())
    return _counts


def count_engine(engine: Engine, service: str, environ: dict[str, str] | None = None) -> bool:
    """Count ``engine``'s statements, commits, rollbacks, pool checkouts and the pings of idle
    pooled connections (a ``SELECT 1`` round trip each, not a statement) when counting is on;
    whether it is."""
    counts = counting(environ)
    if counts is None:
        return False
    counts.services.add(service)

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_args) -> None:
        counts.statements += 1

    @event.listens_for(engine, "commit")
    def _commit(_conn) -> None:
        counts.commits += 1

    @event.listens_for(engine, "rollback")
    def _rollback(_conn) -> None:
        counts.rollbacks += 1

    @event.listens_for(engine, "checkout")
    def _checkout(*_args) -> None:
        counts.checkouts += 1

    ping = engine.dialect.do_ping  # the pool pings through the engine's own dialect

    def _counted_ping(dbapi_conn) -> bool:
        counts.pings += 1
        return ping(dbapi_conn)

    engine.dialect.do_ping = _counted_ping
    return True
