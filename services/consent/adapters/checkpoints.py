"""Signed checkpoints of the ledger: the row count and head hash, signed with Ed25519.

A checkpoint is only signed over a chain that holds together since the last authentic
checkpoint: signing a head that someone forged would vouch for the forgery. Each one is stored
beside the ledger and, once its transaction commits, written to the checkpoint log outside the
database (``checkpoint_log``), which a cut of the ledger's tail cannot reach.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.consent.adapters import ledger_rows
from services.consent.adapters.orm import ledger_checkpoints
from services.consent.domain import GENESIS_HASH, Checkpoint, LedgerEntry, chain_hash, sign_checkpoint
from services.consent.ledger_keys import LedgerKeyPair

log = logging.getLogger(__name__)


def load_all(session: Session) -> list[Checkpoint]:
    rows = session.execute(select(ledger_checkpoints).order_by(ledger_checkpoints.c.count)).all()
    return [Checkpoint(r.count, r.head_hash, r.at, r.signature) for r in rows]


def sign_head(session: Session, keys: LedgerKeyPair, head: LedgerEntry | None,
              at: datetime) -> Checkpoint | None:
    """Sign ``head`` (the caller holds the ledger lock) unless a checkpoint covers it already
    or the chain since the last checkpoint does not verify; returns the new checkpoint.

    What is signed is the tip of the rows just verified, read in one statement, and only when
    it is ``head``: a ledger changed between the two reads (by someone not taking the lock)
    would otherwise get a signature over rows nobody checked."""
    if head is None:
        return None
    last = _latest_authentic(session, keys)
    if last is not None and last.count >= head.seq:
        return None
    broken_at, tip = _verify_since(session, keys, last)
    if broken_at is not None:
        log.error("ledger does not verify at seq %d: checkpoint withheld; run ledger verify", broken_at)
        return None
    if tip is None or (tip.seq, tip.hash) != (head.seq, head.hash):
        log.error("ledger changed while it was verified: checkpoint withheld; run ledger verify")
        return None
    signed = sign_checkpoint(tip, at, keys.signing_key)
    session.execute(insert(ledger_checkpoints).values(
        count=signed.count, head_hash=signed.head_hash, at=signed.at, signature=signed.signature))
    if keys.checkpoint_log is not None:
        keys.checkpoint_log.append_after_commit(session, signed)
    return signed


def checkpoint_now(session: Session, keys: LedgerKeyPair, at: datetime) -> Checkpoint | None:
    """Take the ledger lock and sign the current head (the timer's checkpoint)."""
    ledger_rows.lock(session)
    return sign_head(session, keys, ledger_rows.head(session), at)


def _latest_authentic(session: Session, keys: LedgerKeyPair) -> Checkpoint | None:
    public_key = keys.signing_key.public_key()
    for checkpoint in reversed(load_all(session)):
        if checkpoint.is_authentic(public_key):
            return checkpoint
    return None


def _verify_since(session: Session, keys: LedgerKeyPair,
                  last: Checkpoint | None) -> tuple[int | None, LedgerEntry | None]:
    """``(first seq after last that does not chain on, None)``, or ``(None, the last row)`` when
    all of them do (``(None, None)`` when there are none)."""
    prev, expected = (last.head_hash, last.count + 1) if last else (GENESIS_HASH, 1)
    tip = None
    for entry in ledger_rows.after(session, expected - 1):
        if (entry.seq != expected or entry.prev_hash != prev
                or chain_hash(keys.hmac_key, prev, entry.content()) != entry.hash):
            return expected, None
        prev, expected, tip = entry.hash, expected + 1, entry
    return None, tip
