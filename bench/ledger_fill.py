"""Growing the consent service's audit ledger to a size worth verifying.

Entries are made exactly as the service makes them (``next_entry`` with the service's key,
decision-shaped details, a signed checkpoint every ``checkpoint_every`` rows) under the
service's append lock, but inserted in bulk: appending 100,000 decisions through ``authorize``
would take the benchmark several minutes and measure ``authorize`` again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from services.consent.adapters import ledger_rows
from services.consent.adapters.orm import ledger, ledger_checkpoints
from services.consent.domain import next_entry, sign_checkpoint
from services.consent.domain.ledger import canonical
from services.consent.ledger_keys import load_ledger_keys
from services.kit.db import make_engine

CHUNK = 5_000


def _details() -> dict:
    return {"decision_id": str(uuid.uuid4()), "permit": True, "reason": "covered",
            "recipient": "class:peer_group", "purpose": "peer-support-referral",
            "data_classes": ["referral-reason"], "consent_version": 1}


def fill(url: str, env: Mapping[str, str], rows: int) -> int:
    """Append entries until the ledger holds at least ``rows``; returns its size."""
    keys = load_ledger_keys(env)
    engine = make_engine(url, pool_size=1)
    try:
        sessions = sessionmaker(engine)
        while True:
            with sessions() as session:
                ledger_rows.lock(session)  # the service's appenders wait meanwhile
                head = ledger_rows.head(session)
                have = head.seq if head else 0
                if have >= rows:
                    return have
                entries, checkpoints = [], []
                now = datetime.now(UTC)
                for _ in range(min(CHUNK, rows - have)):
                    head = next_entry(head, keys.hmac_key, at=now, actor="bench-referrer",
                                      action="decision", subject=str(uuid.uuid4()),
                                      participant_id=str(uuid.uuid4()), details=_details())
                    entries.append({"seq": head.seq, "at": head.at, "actor": head.actor,
                                    "action": head.action, "subject": head.subject,
                                    "participant_id": head.participant_id,
                                    "details": canonical(head.details), "prev_hash": head.prev_hash,
                                    "hash": head.hash})
                    if head.seq % keys.checkpoint_every == 0:
                        signed = sign_checkpoint(head, now, keys.signing_key)
                        checkpoints.append({"count": signed.count, "head_hash": signed.head_hash,
                                            "at": signed.at, "signature": signed.signature})
                session.execute(insert(ledger), entries)
                if checkpoints:
                    session.execute(insert(ledger_checkpoints), checkpoints)
                session.commit()
    finally:
        engine.dispose()
