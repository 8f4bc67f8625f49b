"""Reading the audit trail: the accounting of disclosures, the ledger, its export, verification,
checkpoints and the key that checks them. No nameko here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from services.consent.adapters.ledger_store import LedgerReader, verify_stream
from services.consent.domain import ledger_time
from services.consent.domain.commands import (
    CheckpointLedger,
    ExportLedger,
    ListDisclosures,
    ReadLedger,
    VerifyLedger,
)
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.errors import NotFound


def disclosures(command: ListDisclosures, uow) -> dict[str, Any]:
    """``{"items", "next_page"}``: every disclosure about the participant, oldest first.

    Admins, and agencies holding a consent of the participant, may read it. Anyone else, and
    anyone asking about a participant no consent names, gets ``NotFound``: the answer never
    tells a stranger whether the participant exists.
    """
    with uow:
        holders = uow.consents.holders_for_participant(command.participant_id)
        if not holders or not (command.caller.is_admin or command.caller.agency_id in holders):
            raise NotFound("No such participant.")
        items = uow.disclosures.for_participant(command.participant_id)
    return {"items": items, "next_page": None}


def ledger(command: ReadLedger, uow) -> dict[str, Any]:
    """A page of ledger entries in seq order: ``{"items": [{seq, at, actor, action, subject,
    participant_id, hash}], "next_page"}``; ``next_page`` is the cursor of the next page, or None."""
    since = ledger_time(command.since) if command.since else None
    with uow:
        rows = uow.ledger.entries(participant_id=command.participant_id, since=since,
                                  after_seq=command.after_seq, limit=command.limit + 1)
    shown = rows[:command.limit]
    items = [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
              "subject": e.subject, "participant_id": e.participant_id, "hash": e.hash}
             for e in shown]
    return {"items": items, "next_page": str(shown[-1].seq) if len(rows) > command.limit else None}


def export_ledger(command: ExportLedger, uow) -> dict[str, Any]:
    """``{"items": [{seq, at, actor, action, subject, participant_id, details, prev_hash, hash}],
    "head"}``: the next entries of an export, in seq order, exactly as they were hashed, so an
    outside auditor can recompute the chain. ``head`` is the last seq the export covers:
    ``command.up_to``, or the ledger's head when the export starts."""
    with uow:
        head = command.up_to if command.up_to is not None else uow.ledger.head_seq()
        rows = uow.ledger.after(command.after_seq, command.limit)
    return {"items": [entry.as_dict() for entry in rows if entry.seq <= head], "head": head}


def public_key(keys: LedgerKeyPair) -> str:
    """The PEM of the key that checks the ledger's signed checkpoints."""
    return keys.public_key_pem()


def verify_ledger(command: VerifyLedger, uow, keys: LedgerKeyPair, *,
                  between_chunks: Callable[[int], None] | None = None) -> dict[str, Any]:
    """``{"ok": true, "entries"}`` or ``{"ok": false, "first_bad_seq", "problem", "kind",
    "entries"}``. Reads in chunks, each in its own short transaction; ``between_chunks(rows
    read)`` runs after each."""
    @contextmanager
    def reading() -> Iterator[LedgerReader]:
        with uow:
            yield uow.ledger

    result = verify_stream(reading, keys, chunk_size=command.chunk_size, progress=between_chunks)
    return result.as_dict()


def checkpoint(command: CheckpointLedger, uow, keys: LedgerKeyPair, now: datetime) -> int | None:
    """Sign the ledger's head unless a checkpoint covers it already; the rows it covers."""
    with uow:
        signed = uow.ledger.checkpoint(keys, now)
        uow.commit()
    return None if signed is None else signed.count
