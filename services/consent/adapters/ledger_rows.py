"""Reading ledger rows back as the entries they were hashed from, and the append lock."""

from __future__ import annotations

import json
import zlib

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.consent.adapters.orm import ledger
from services.consent.domain import LedgerEntry

# One constant for every replica: the lock *is* the ledger's single-writer rule.
LEDGER_LOCK = zlib.crc32(b"consent:ledger") & 0x7FFFFFFF


def lock(session: Session) -> None:
    """Serialize ledger writers until this transaction ends (PostgreSQL).

    On SQLite the kit's single-writer gate already serializes units of work.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK})


def head(session: Session) -> LedgerEntry | None:
    """The last entry, or None for an empty ledger."""
    row = session.execute(select(ledger).order_by(ledger.c.seq.desc()).limit(1)).first()
    return None if row is None else to_entry(row)


def after(session: Session, seq: int | None, limit: int | None = None) -> list[LedgerEntry]:
    """Entries with a seq above ``seq`` (all of them for None), in seq order."""
    query = select(ledger).order_by(ledger.c.seq)
    if seq is not None:
        query = query.where(ledger.c.seq > seq)
    if limit is not None:
        query = query.limit(limit)
    return [to_entry(row) for row in session.execute(query)]


def to_entry(row) -> LedgerEntry:
    try:
        details = json.loads(row.details)
    except ValueError:
        details = {"unreadable": row.details}  # tampered text: the hash check names the row
    return LedgerEntry(row.seq, row.at, row.actor, row.action, row.subject, row.participant_id,
                       details, row.prev_hash, row.hash)
