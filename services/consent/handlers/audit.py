"""Reading the audit trail: the accounting of disclosures, the ledger, its export, verification,
checkpoints and the key that checks them. No nameko here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from services.consent.adapters.ledger_store import LedgerReader, verify_stream
from services.consent.domain import LedgerEntry, ledger_time
from services.consent.domain.commands import (
    CheckpointLedger,
    ExportLedger,
    ListDisclosures,
    ReadLedger,
    RecordChange,
    VerifyLedger,
)
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.errors import NotFound
from services.kit.pages import write_cursor


def disclosures(command: ListDisclosures, uow) -> dict[str, Any]:
    """``{"items", "next_page"}``: a page of the disclosures about the participant, oldest first.

    Agencies holding a consent of the participant (their referrers and administrators) may read
    it; no agency reads another's participants' accounting. Anyone else, and
    anyone asking about a participant no consent names, gets ``NotFound``: the answer never
    tells a stranger whether the participant exists.
    """
    with uow:
        holders = uow.consents.holders_for_participant(command.participant_id)
        if command.caller.agency_id not in holders:
            raise NotFound("No such participant.")
        found = uow.disclosures.for_participant(command.participant_id, after=command.after,
                                                limit=command.limit + 1, since=command.since,
                                                until=command.until)
    shown = found[:command.limit]
    more = len(found) > command.limit
    last = shown[-1] if more else None
    cursor = write_cursor(datetime.fromisoformat(last["at"]), str(last["ledger_seq"])) if last else None
    return {"items": shown, "next_page": cursor}


def ledger(command: ReadLedger, uow) -> dict[str, Any]:
    """A page of ledger entries in seq order: ``{"items": [entry_view], "next_page"}``;
    ``next_page`` is the cursor of the next page, or None.

    The network operator reads every row; an agency (its admin) only the rows it acted in or
    was the recipient of.
    """
    caller = command.caller
    with uow:
        rows = uow.ledger.entries(
            participant_id=command.participant_id,
            since=ledger_time(command.since) if command.since else None,
            until=ledger_time(command.until) if command.until else None,
            actor=command.actor, agency=command.agency, action=command.action,
            involving=None if caller.is_operator else caller.agency_id,
            after_seq=command.after_seq, limit=command.limit + 1)
    shown = rows[:command.limit]
    return {"items": [entry_view(e) for e in shown],
            "next_page": str(shown[-1].seq) if len(rows) > command.limit else None}


AUDITED_DETAILS = ("permit", "reason", "recipient", "purpose", "data_classes", "asking")


def entry_view(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger row as an auditor reads it: who acted (``actor``, and the ``agency_id`` it acted
    for), what, and for decisions and disclosures the answer, recipient, purpose and data, and
    ``asking``: the agency whose person or key put the question when it is not the discloser."""
    view = {"seq": entry.seq, "at": entry.at, "agency_id": entry.actor,
            "actor": entry.details.get("by") or entry.actor, "action": entry.action,
            "subject": entry.subject, "participant_id": entry.participant_id, "hash": entry.hash}
    view.update({key: entry.details[key] for key in AUDITED_DETAILS if key in entry.details})
    return view


def record_change(command: RecordChange, uow, keys: LedgerKeyPair, now: datetime) -> dict[str, int]:
    """Ledger an administrative change, naming the agency and the actor (``details.by``);
    ``{"seq"}``. Raises ``ValueError`` for details holding personal keys."""
    details = {**command.details, "by": command.caller.actor}
    with uow:
        if command.action == "agency.created":  # admitting an agency is ledgered, and remembered
            uow.admissions.admit(command.subject, str(command.details.get("kind")), now)
        entry = uow.ledger.append(keys, at=now, actor=command.caller.agency_id,
                                  action=command.action, subject=command.subject, details=details)
        uow.commit()
    return {"seq": entry.seq}


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

    result = verify_stream(reading, keys, chunk_size=command.chunk_size, progress=between_chunks,
                           stream=True)
    return result.as_dict()


def checkpoint(command: CheckpointLedger, uow, keys: LedgerKeyPair, now: datetime) -> int | None:
    """Sign the ledger's head unless a checkpoint covers it already; the rows it covers."""
    with uow:
        signed = uow.ledger.checkpoint(keys, now)
        uow.commit()
    return None if signed is None else signed.count
