"""Reading the audit trail: the accounting of disclosures, the ledger, its verification and
checkpoints. No nameko here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.consent.adapters import accounting, checkpoints, ledger_store
from services.consent.adapters.repository import ConsentRepository
from services.consent.domain import ledger_time
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.crypto import KeyRing
from services.kit.errors import NotFound
from services.kit.messages import Caller


def disclosures(caller: Caller, participant_id: str, uow, ring: KeyRing) -> dict[str, Any]:
    """``{"items", "next_page"}``: every disclosure about the participant, oldest first.

    Admins, and agencies holding a consent of the participant, may read it. Anyone else, and
    anyone asking about a participant no consent names, gets ``NotFound``: the answer never
    tells a stranger whether the participant exists.
    """
    with uow:
        holders = ConsentRepository(uow.session, ring).holders_for_participant(participant_id)
        if not holders or not (caller.is_admin or caller.agency_id in holders):
            raise NotFound("No such participant.")
        items = accounting.for_participant(uow.session, participant_id)
    return {"items": items, "next_page": None}


def ledger(filters: dict[str, Any], uow) -> dict[str, Any]:
    """A page of ledger entries in seq order: ``{"items": [{seq, at, actor, action, subject,
    participant_id, hash}], "next_page"}``; ``filters`` as loaded by ``schemas.LedgerFilters``."""
    limit = filters["limit"]
    after = int(filters["page"]) if filters.get("page") else None
    since = ledger_time(filters["since"]) if filters.get("since") else None
    with uow:
        rows = ledger_store.entries(uow.session, participant_id=filters.get("participant"),
                                    since=since, after_seq=after, limit=limit + 1)
    shown = rows[:limit]
    items = [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
              "subject": e.subject, "participant_id": e.participant_id, "hash": e.hash}
             for e in shown]
    return {"items": items, "next_page": str(shown[-1].seq) if len(rows) > limit else None}


def verify_ledger(uow, keys: LedgerKeyPair, *, chunk_size: int = ledger_store.VERIFY_CHUNK,
                  between_chunks: Callable[[int], None] | None = None) -> dict[str, Any]:
    """``{"ok": true, "entries"}`` or ``{"ok": false, "first_bad_seq", "problem", "kind",
    "entries"}``. Reads in chunks, each in its own short transaction."""
    @contextmanager
    def reading() -> Iterator[Session]:
        with uow:
            yield uow.session

    result = ledger_store.verify_stream(reading, keys, chunk_size=chunk_size,
                                        progress=between_chunks)
    return result.as_dict()


def checkpoint(uow, keys: LedgerKeyPair, now: datetime) -> int | None:
    """Sign the ledger's head unless a checkpoint covers it already; the rows it covers."""
    with uow:
        signed = checkpoints.checkpoint_now(uow.session, keys, now)
        uow.commit()
    return None if signed is None else signed.count
