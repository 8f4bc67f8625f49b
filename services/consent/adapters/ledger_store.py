"""The audit ledger in the database: appending without forks, reading, verifying.

Appends are serialized so the chain never forks: on PostgreSQL the appending transaction
takes a transaction-level advisory lock before it reads the head, so every worker of every
replica queues there; on SQLite the kit's single-writer gate already serializes units of
work. The lock is held until commit, so callers append as late in their transaction as
they can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from services.consent.adapters import checkpoints, ledger_rows
from services.consent.adapters.orm import ledger
from services.consent.domain import ChainVerifier, LedgerEntry, VerifyResult, next_entry
from services.consent.domain.ledger import canonical
from services.consent.ledger_keys import LedgerKeyPair

VERIFY_CHUNK = 5000
Reading = Callable[[], AbstractContextManager[Session]]


def append(session: Session, keys: LedgerKeyPair, *, at: datetime, actor: str, action: str,
           subject: str, participant_id: str | None = None,
           details: dict[str, Any] | None = None) -> LedgerEntry:
    """Append one entry in the session's transaction; returns it (``seq`` included).

    Every ``keys.checkpoint_every`` entries a signed checkpoint is written with it.
    Raises ``ValueError`` when ``details`` are not plain JSON or hold personal keys.
    """
    ledger_rows.lock(session)
    head = ledger_rows.head(session)
    entry = next_entry(head, keys.hmac_key, at=at, actor=actor, action=action,
                       subject=subject, participant_id=participant_id, details=details)
    session.execute(insert(ledger).values(
        seq=entry.seq, at=entry.at, actor=entry.actor, action=entry.action, subject=entry.subject,
        participant_id=entry.participant_id, details=canonical(entry.details),
        prev_hash=entry.prev_hash, hash=entry.hash,
    ))
    if entry.seq % keys.checkpoint_every == 0:
        checkpoints.sign_head(session, keys, entry, at)
    return entry


def entries(session: Session, *, participant_id: str | None = None, since: str | None = None,
            after_seq: int | None = None, limit: int = 100) -> list[LedgerEntry]:
    """Entries in seq order; ``since`` is a ``ledger_time`` text (the column compares as text)."""
    query = select(ledger).order_by(ledger.c.seq)
    if after_seq is not None:
        query = query.where(ledger.c.seq > after_seq)
    if participant_id is not None:
        query = query.where(ledger.c.participant_id == participant_id)
    if since is not None:
        query = query.where(ledger.c.at >= since)
    rows = session.execute(query.limit(limit))
    return [ledger_rows.to_entry(row) for row in rows]


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(ledger)).scalar_one()


def verify_stream(reading: Reading, keys: LedgerKeyPair, *, chunk_size: int = VERIFY_CHUNK,
                  progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Verify the whole ledger against its checkpoints, ``chunk_size`` rows per read.

    ``reading()`` opens a short-lived session per chunk, so a long verification never holds
    SQLite's writer gate between chunks. ``progress(rows read)`` is called after each chunk.
    """
    with reading() as session:
        signed = checkpoints.load_all(session)
    verifier = ChainVerifier(keys.hmac_key, keys.signing_key.public_key(), signed)
    for chunk in _chunks(reading, chunk_size):
        read = verifier.feed(chunk)
        if progress is not None:
            progress(read)
    return verifier.finish()


def _chunks(reading: Reading, chunk_size: int) -> Iterator[list[LedgerEntry]]:
    last: int | None = None  # no lower bound at first: a forged seq 0 or below is read too
    while True:
        with reading() as session:
            chunk = ledger_rows.after(session, last, chunk_size)
        if not chunk:
            return
        yield chunk
        last = chunk[-1].seq
