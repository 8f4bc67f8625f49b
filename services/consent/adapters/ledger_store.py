"""The audit ledger in the database: appending without forks, reading, verifying.

Appends are serialized so the chain never forks: on PostgreSQL the appending transaction
takes a transaction-level advisory lock before it reads the head, so every worker of every
replica queues there; on SQLite the kit's single-writer gate already serializes units of
work. The lock is held until commit, so callers append as late in their transaction as
they can. On PostgreSQL a process that appended before sends the lock and the insert in one
statement, the insert guarded by the tip it inserted last (``ledger_rows.append_locked``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.consent.adapters import checkpoints, ledger_rows
from services.consent.adapters.checkpoint_log import CheckpointLogError
from services.consent.adapters.orm import ledger
from services.consent.domain import ChainVerifier, Checkpoint, LedgerEntry, VerifyResult, next_entry
from services.consent.domain.commands import VERIFY_CHUNK
from services.consent.domain.ledger import ChainTip
from services.consent.domain.ledger_verify import FORGED_CHECKPOINT, Beside
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.threads import on_a_thread

__all__ = ["VERIFY_CHUNK", "LedgerReader", "LedgerRepository", "verify_stream"]


class LedgerReader(Protocol):
    """What verifying needs of a ledger: its checkpoints and its entries in seq order."""

    def checkpoints(self) -> list[Checkpoint]: ...

    def after(self, seq: int | None, limit: int | None = None) -> list[LedgerEntry]: ...

    # Optional, for a reader of a database: rows as stored (``LedgerEntry.from_row`` order),
    # ``rows_after(seq, limit)``, and with ``streams`` true, ``stream_rows(chunk_rows)``.


class LedgerRepository:
    """The ledger and its signed checkpoints in one unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # The tip this repository appended, and the transaction that holds the ledger lock: a
        # second append in that transaction (a disclosure after its decision) chains to it
        # without asking the database again, since no other writer can append before commit.
        self._appended: tuple[object, ChainTip] | None = None

    def append(self, keys: LedgerKeyPair, *, at: datetime, actor: str, action: str, subject: str,
               participant_id: str | None = None, details: dict[str, Any] | None = None) -> LedgerEntry:
        """Append one entry in the session's transaction; returns it (``seq`` included).

        Every ``keys.checkpoint_every`` entries a signed checkpoint is written with it.
        Raises ``ValueError`` when ``details`` are not plain JSON or hold personal keys.
        """
        def entry_after(tip: ChainTip | None) -> LedgerEntry:
            return next_entry(tip, keys.hmac_key, at=at, actor=actor, action=action, subject=subject,
                              participant_id=participant_id, details=details)

        held = self._held_tip()
        if held is None:
            entry = ledger_rows.append_locked(self.session, entry_after)
        else:
            entry = entry_after(held)
            ledger_rows.insert_entry(self.session, entry)
        self._appended = (self.session.get_transaction(), ChainTip(entry.seq, entry.hash))
        if entry.seq % keys.checkpoint_every == 0:
            checkpoints.sign_head(self.session, keys, entry, at)
        return entry

    def _held_tip(self) -> ChainTip | None:
        """The tip this transaction appended, holding the ledger lock; None before its first append."""
        if self._appended is not None:
            transaction, tip = self._appended
            if transaction is self.session.get_transaction():
                return tip
        return None

    def entries(self, *, participant_id: str | None = None, since: str | None = None,
                until: str | None = None, actor: str | None = None, agency: str | None = None,
                action: str | None = None, involving: str | None = None,
                after_seq: int | None = None, limit: int = 100) -> list[LedgerEntry]:
        """Entries in seq order; ``since``/``until`` are ``ledger_time`` texts (the column compares
        as text). ``actor`` is the ``by`` of the details; ``agency`` the agency that acted;
        ``involving`` keeps the rows an agency acted in, asked or received a disclosure by."""
        query = select(ledger).order_by(ledger.c.seq)
        if after_seq is not None:
            query = query.where(ledger.c.seq > after_seq)
        if participant_id is not None:
            query = query.where(ledger.c.participant_id == participant_id)
        if since is not None:
            query = query.where(ledger.c.at >= since)
        if until is not None:
            query = query.where(ledger.c.at < until)
        if agency is not None:
            query = query.where(ledger.c.actor == agency)
        if action is not None:
            query = query.where(ledger.c.action == action)
        if actor is not None:
            query = query.where(_details_say("by", actor))
        if involving is not None:
            query = query.where(or_(ledger.c.actor == involving, _details_say("recipient", involving),
                                    _details_say("asking", involving)))
        rows = self.session.execute(query.limit(limit))
        return [ledger_rows.to_entry(row) for row in rows]

    def after(self, seq: int | None, limit: int | None = None) -> list[LedgerEntry]:
        """Entries with a seq above ``seq`` (all of them for None), in seq order."""
        return ledger_rows.after(self.session, seq, limit)

    def rows_after(self, seq: int | None, limit: int) -> list[tuple]:
        """Rows as stored, for verification: ``ledger_rows.rows_after``."""
        return ledger_rows.rows_after(self.session, seq, limit)

    @property
    def streams(self) -> bool:
        """Whether ``stream_rows`` reads through a server-side cursor (PostgreSQL)."""
        return self.session.get_bind().dialect.name == "postgresql"

    def stream_rows(self, chunk_rows: int) -> Iterator[list[tuple]]:
        """Every row as stored, in chunks, in this transaction: ``ledger_rows.stream_rows``."""
        return ledger_rows.stream_rows(self.session, chunk_rows)

    def head_seq(self) -> int:
        """The last entry's seq; 0 for an empty ledger."""
        return self.session.execute(select(func.max(ledger.c.seq))).scalar_one() or 0

    def checkpoints(self) -> list[Checkpoint]:
        """Every stored checkpoint, authentic or not, by count."""
        return checkpoints.load_all(self.session)

    def checkpoint(self, keys: LedgerKeyPair, at: datetime) -> Checkpoint | None:
        """Sign the current head under the ledger lock, unless a checkpoint covers it already
        or the chain since the last one does not verify; the new checkpoint, or None."""
        return checkpoints.checkpoint_now(self.session, keys, at)

    def count(self) -> int:
        return self.session.execute(select(func.count()).select_from(ledger)).scalar_one()


def _details_say(key: str, value: str):
    """The details (canonical JSON: sorted keys, no spaces) hold ``"key":"value"``."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ledger.c.details.like(f'%"{key}":"{escaped}"%', escape="\\")


def verify_stream(reading: Callable[[], AbstractContextManager[LedgerReader]], keys: LedgerKeyPair, *,
                  chunk_size: int = VERIFY_CHUNK,
                  progress: Callable[[int], None] | None = None,
                  with_checkpoints: bool = False, stream: bool = False,
                  beside: Beside = on_a_thread) -> VerifyResult:
    """Verify the whole ledger against its checkpoints, ``chunk_size`` rows per read.

    ``reading()`` opens a short-lived transaction per chunk, so a long verification never holds
    SQLite's writer gate between chunks. With ``stream``, a reader that ``streams`` (PostgreSQL)
    reads every chunk through one server-side cursor in one transaction instead; ``progress``
    must then not open a transaction of its own. ``progress(rows read)`` is called after each
    chunk. With ``with_checkpoints`` the result also says how many rows the signed checkpoints
    cover. The checkpoints are those stored beside the ledger and those of
    ``keys.checkpoint_log``, which survive a cut of the database; a log line that is not a
    checkpoint fails verification. Their signatures are checked by ``beside``: by default on
    another thread, while the rows are read and hashed.
    """
    with reading() as reader:
        signed = reader.checkpoints()
    if keys.checkpoint_log is not None:
        try:
            signed += keys.checkpoint_log.read()
        except CheckpointLogError as exc:
            return VerifyResult(False, 0, None, str(exc), FORGED_CHECKPOINT)
    verifier = ChainVerifier(keys.hmac_key, keys.signing_key.public_key(), signed, beside=beside)
    for feed, chunk in _chunks(reading, chunk_size, stream, verifier):
        read = feed(chunk)
        if progress is not None:
            progress(read)
    result = verifier.finish()
    return replace(result, checkpointed=verifier.checkpointed) if with_checkpoints else result


def _chunks(reading: Callable[[], AbstractContextManager[LedgerReader]], chunk_size: int,
            stream: bool, verifier: ChainVerifier) -> Iterator[tuple[Callable[[Any], int], list]]:
    """Each chunk with the verifier's method that takes it: rows where the reader gives rows."""
    with reading() as reader:
        raw = hasattr(reader, "rows_after")
        if raw and stream and getattr(reader, "streams", False):
            for rows in reader.stream_rows(chunk_size):
                yield verifier.feed_rows, rows
            return
    last: int | None = None  # no lower bound at first: a forged seq 0 or below is read too
    while True:
        with reading() as reader:
            chunk = reader.rows_after(last, chunk_size) if raw else reader.after(last, chunk_size)
        if not chunk:
            return
        yield (verifier.feed_rows, chunk) if raw else (verifier.feed, chunk)
        last = chunk[-1][0] if raw else chunk[-1].seq
