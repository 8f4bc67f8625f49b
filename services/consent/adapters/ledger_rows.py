"""Reading ledger rows back as the entries they were hashed from, and the append lock."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from services.consent.adapters.orm import ledger
from services.consent.domain import LedgerEntry
from services.consent.domain.ledger import ChainTip, canonical, details_of

# One constant for every replica: the lock *is* the ledger's single-writer rule.
LEDGER_LOCK = zlib.crc32(b"consent:ledger") & 0x7FFFFFFF
# Built once: an append runs them for every decision (``services/kit/unit_of_work.py:kit_statements``).
_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=LEDGER_LOCK)
_TIP = select(ledger.c.seq, ledger.c.hash).order_by(ledger.c.seq.desc()).limit(1)
_HEAD = select(ledger).order_by(ledger.c.seq.desc()).limit(1)
# The lock and the tip in one simple query: two statements, one round trip (``locked_tip``).
_LOCKED_TIP = (f"SELECT pg_advisory_xact_lock({LEDGER_LOCK}); "
               "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
_INSERT = insert(ledger)  # built once: every decision runs it
# The lock and an insert that holds only when the guess is still the tip, with its hash
# (``append_locked``), in one parameterised statement; the guess has parameters of its own, as
# one parameter cannot be text for the insert and varchar for the comparison. The snapshot is
# taken before the lock is waited for, so the guard may see an older ledger: an entry committed
# meanwhile takes the seq this insert wants, and ``ON CONFLICT`` makes the insert nothing
# rather than an error.
_INSERT_AFTER = text(
    "INSERT INTO ledger (seq, at, actor, action, subject, participant_id, details, prev_hash, hash) "
    "SELECT :seq, :at, :actor, :action, :subject, :participant_id, :details, :prev_hash, :hash "
    f"FROM (SELECT pg_advisory_xact_lock({LEDGER_LOCK})) AS locked "
    "WHERE (SELECT tip.hash FROM ledger AS tip WHERE tip.seq = :guess_seq) = :guess_hash "
    "AND NOT EXISTS (SELECT 1 FROM ledger AS later WHERE later.seq > :guess_seq) "
    "ON CONFLICT (seq) DO NOTHING")
# Per database, the tip this process last appended (committed or not): the guess an append
# on PostgreSQL chains to before it holds the lock.
_appended: WeakKeyDictionary[Engine, ChainTip] = WeakKeyDictionary()


def lock(session: Session) -> None:
    """Serialize ledger writers until this transaction ends (PostgreSQL).

    On SQLite the kit's single-writer gate already serializes units of work.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK)


def head(session: Session) -> LedgerEntry | None:
    """The last entry, or None for an empty ledger."""
    row = session.execute(_HEAD).first()
    return None if row is None else to_entry(row)


def tip(session: Session) -> ChainTip | None:
    """The last entry's seq and hash, or None for an empty ledger: its details are not read."""
    row = session.execute(_TIP).first()
    return None if row is None else ChainTip(row.seq, row.hash)


def locked_tip(session: Session) -> ChainTip | None:
    """``lock``, then ``tip``: what an append needs before it hashes its entry.

    On PostgreSQL both go in one round trip, as two statements of one simple query. Under READ
    COMMITTED each statement takes its own snapshot when it starts, and the second starts only
    once the first has the lock: it sees the entry the previous holder committed, as a separate
    read after the lock would.
    """
    if session.get_bind().dialect.name != "postgresql":
        return tip(session)
    result = session.connection().execution_options(no_parameters=True).exec_driver_sql(_LOCKED_TIP)
    try:
        cursor = result.cursor
        row = cursor.fetchone() if cursor.nextset() else None
    finally:
        result.close()
    return None if row is None else ChainTip(*row)


def append_locked(session: Session, entry_after: Callable[[ChainTip | None], LedgerEntry]) -> LedgerEntry:
    """Take the ledger lock and insert ``entry_after(tip)``; the entry inserted.

    On PostgreSQL the process guesses the tip is the entry it inserted last, and sends one
    statement that takes the lock and inserts the entry after it only if that entry is in the
    ledger with its hash, nothing follows it, and no entry took the new seq meanwhile. The guess
    fails when another replica appended since, the transaction that inserted it rolled back or
    is still open, or the tail was cut: then the lock and the tip are read together
    (``locked_tip``; the advisory lock is taken again if the statement took it already) and the
    entry made again. ``entry_after`` raises before anything is sent when the entry is refused.
    """
    bind = session.get_bind()
    guess = _appended.get(bind) if bind.dialect.name == "postgresql" else None
    if guess is None:
        entry = entry_after(locked_tip(session))
        insert_entry(session, entry)
        return entry
    entry = entry_after(guess)
    inserted = session.execute(_INSERT_AFTER, {**row_values(entry), "guess_seq": guess.seq,
                                               "guess_hash": guess.hash})
    if inserted.rowcount == 1:
        _appended[bind] = ChainTip(entry.seq, entry.hash)
        return entry
    # The guard may have been false before the lock was reached: take it (again) with the tip.
    entry = entry_after(locked_tip(session))
    insert_entry(session, entry)
    return entry


def insert_entry(session: Session, entry: LedgerEntry) -> None:
    """Insert ``entry``, whose transaction holds the ledger lock; on PostgreSQL it becomes the
    process's guess of the tip for its next ``append_locked``."""
    session.execute(_INSERT, row_values(entry))
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        _appended[bind] = ChainTip(entry.seq, entry.hash)


def row_values(entry: LedgerEntry) -> dict:
    return {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
            "subject": entry.subject, "participant_id": entry.participant_id,
            "details": canonical(entry.details), "prev_hash": entry.prev_hash, "hash": entry.hash}


def after(session: Session, seq: int | None, limit: int | None = None) -> list[LedgerEntry]:
    """Entries with a seq above ``seq`` (all of them for None), in seq order."""
    query = select(ledger).order_by(ledger.c.seq)
    if seq is not None:
        query = query.where(ledger.c.seq > seq)
    if limit is not None:
        query = query.limit(limit)
    return [to_entry(row) for row in session.execute(query)]


def to_entry(row) -> LedgerEntry:
    # Tampered text that is not JSON reads as {"unreadable": text}: the hash check names the row.
    return LedgerEntry(row.seq, row.at, row.actor, row.action, row.subject, row.participant_id,
                       details_of(row.details), row.prev_hash, row.hash)


# Rows as plain tuples in ``LedgerEntry.from_row`` order, straight from the driver's cursor:
# verification reads every row, and building nothing per row is most of its speed.
_ROWS = "SELECT seq, at, actor, action, subject, participant_id, details, prev_hash, hash FROM ledger"


def rows_after(session: Session, seq: int | None, limit: int) -> list[tuple]:
    """Up to ``limit`` rows with a seq above ``seq`` (every seq for None), in seq order."""
    where = "" if seq is None else f" WHERE seq > {int(seq)}"
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(f"{_ROWS}{where} ORDER BY seq LIMIT {int(limit)}")
        return cursor.fetchall()
    finally:
        cursor.close()


def stream_rows(session: Session, chunk_rows: int) -> Iterator[list[tuple]]:
    """Every row in seq order, ``chunk_rows`` at a time, through one server-side cursor of the
    session's transaction (PostgreSQL: the rows are never all in memory, and the whole read
    is one snapshot)."""
    driver = session.connection().connection.driver_connection
    with driver.cursor(name="ledger_rows") as cursor:
        cursor.itersize = chunk_rows
        cursor.execute(f"{_ROWS} ORDER BY seq")
        while chunk := cursor.fetchmany(chunk_rows):
            yield chunk
