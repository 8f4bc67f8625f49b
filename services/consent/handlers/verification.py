"""Ledger verification as a bounded background job. No nameko here.

An operator starts one and reads it later; at most one runs at a time (a second start answers
the running one), so no caller can pile verifications onto the decision point. It reads the
ledger in chunks of ``VerificationRules.chunk_rows``, each in its own short transaction, records
its progress and pauses between chunks, so decisions keep answering while it runs. One whose
progress stopped for ``stale_after`` (its process died) is abandoned when another is asked for.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.consent.adapters.ledger_store import LedgerReader, verify_stream
from services.consent.adapters.verifications import ABANDONED, DONE, AlreadyRunning
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.errors import NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerificationRules:
    chunk_rows: int = 1000
    pause_seconds: float = 0.05
    stale_after: timedelta = timedelta(seconds=60)


def start_verification(uow, now: datetime, rules: VerificationRules) -> tuple[dict[str, Any], bool]:
    """The verification to wait for, and whether it is a new one the caller must now run
    (``run_verification``); the one under way when there is one."""
    with uow:
        running = uow.verifications.running()
        if running is not None and now - running["updated_at"] < rules.stale_after:
            return verification_view(running), False
        if running is not None:
            log.warning("ledger verification %s abandoned: no progress since %s",
                        running["id"], running["updated_at"].isoformat())
            uow.verifications.finish(running["id"], ABANDONED, None, now)
        try:
            started = uow.verifications.start(str(uuid.uuid4()), now)
        except AlreadyRunning:  # another replica started one meanwhile
            return verification_view(uow.verifications.running()), False
        uow.commit()
    return verification_view(started), True


def run_verification(verification_id: str, uow, keys: LedgerKeyPair, clock: Callable[[], datetime],
                     pause: Callable[[float], None], rules: VerificationRules) -> dict[str, Any]:
    """Verify the whole ledger for ``verification_id``, recording progress after each chunk and
    ``pause(rules.pause_seconds)`` between chunks; its result is stored and returned. A failure
    of the run itself (the database went away) abandons the verification."""
    @contextmanager
    def reading() -> Iterator[LedgerReader]:
        with uow:
            yield uow.ledger

    def progressed(read: int) -> None:
        with uow:
            uow.verifications.progress(verification_id, read, clock())
            uow.commit()
        pause(rules.pause_seconds)

    try:
        result: dict[str, Any] | None = verify_stream(reading, keys, chunk_size=rules.chunk_rows,
                                                      progress=progressed,
                                                      with_checkpoints=True).as_dict()
        state = DONE
    except Exception:  # noqa: BLE001 - the verification ends either way; the reason is logged
        log.exception("ledger verification %s failed", verification_id)
        result, state = None, ABANDONED
    with uow:
        uow.verifications.finish(verification_id, state, result, clock())
        uow.commit()
    return {"state": state, "result": result}


def read_verification(verification_id: str, uow) -> dict[str, Any]:
    """The verification's state, progress and result; ``NotFound`` for an unknown id."""
    with uow:
        found = uow.verifications.get(verification_id)
    if found is None:
        raise NotFound("No such verification.")
    return verification_view(found)


def verification_view(found: dict[str, Any]) -> dict[str, Any]:
    """``{"id", "state", "started_at", "updated_at", "finished_at", "checked", "result"}``."""
    return {**found, **{key: found[key].isoformat() if found[key] is not None else None
                        for key in ("started_at", "updated_at", "finished_at")}}
