"""The checkpoint log outside the consent database: signed checkpoints, one per line, appended only.

Whoever can write the consent database can delete the ledger's last rows together with the
checkpoints stored beside them. A copy of every checkpoint kept elsewhere (``LEDGER_CHECKPOINT_LOG``,
a file) still names the head that was signed, so an outside verifier sees the cut. Each line is
``{"seq", "head_hash", "at", "signature"}``; the Ed25519 signature covers the other three
(``domain.ledger.Checkpoint``), so no line can be changed or made up without the signing key.

A checkpoint reaches the log only after the transaction that stored it committed: a checkpoint
of rows that were then rolled back would make the intact ledger look cut. Lines are written with
``O_APPEND`` (replicas sharing one file never overwrite each other) and fsynced; the file is
created readable by its owner only.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.consent.domain import Checkpoint

log = logging.getLogger(__name__)
_PENDING = "ledger_checkpoints_to_log"


class CheckpointLogError(ValueError):
    """A line of a checkpoint log that is not a checkpoint; the message names the line."""


def checkpoint_line(checkpoint: Checkpoint) -> str:
    """The log line of ``checkpoint`` (no newline)."""
    return json.dumps({"seq": checkpoint.count, "head_hash": checkpoint.head_hash,
                       "at": checkpoint.at, "signature": checkpoint.signature}, sort_keys=True)


def parse_checkpoint_lines(lines: Iterable[str]) -> list[Checkpoint]:
    """The checkpoints of a log's lines (blank lines skipped), authentic or not.

    Raises ``CheckpointLogError`` naming the first line that is not a checkpoint.
    """
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            seq, head, at, signature = data["seq"], data["head_hash"], data["at"], data["signature"]
        except (ValueError, TypeError, KeyError):
            raise CheckpointLogError(f"line {number} of the checkpoint log is not a checkpoint") from None
        if not (type(seq) is int and all(isinstance(v, str) for v in (head, at, signature))):
            raise CheckpointLogError(f"line {number} of the checkpoint log is not a checkpoint")
        found.append(Checkpoint(seq, head, at, signature))
    return found


class CheckpointLog:
    """The append-only file of signed checkpoints at ``path``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def append(self, checkpoints: Iterable[Checkpoint]) -> None:
        """Append one line per checkpoint and fsync. Raises ``OSError`` when the file cannot be written."""
        data = "".join(checkpoint_line(c) + "\n" for c in checkpoints).encode()
        if not data:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[Checkpoint]:
        """Every checkpoint in the log (none while it does not exist); ``CheckpointLogError``
        for a line that is not one."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as lines:
            return parse_checkpoint_lines(lines)

    def append_after_commit(self, session: Session, checkpoint: Checkpoint) -> None:
        """Log ``checkpoint`` once ``session``'s transaction commits; forget it on rollback."""
        pending = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []
            event.listen(session, "after_commit", lambda _s: self._write(pending))
            event.listen(session, "after_rollback", lambda _s: pending.clear())
        pending.append(checkpoint)

    def _write(self, pending: list[Checkpoint]) -> None:
        signed, pending[:] = list(pending), []
        try:
            self.append(signed)
        except OSError as exc:
            # The ledger and its checkpoints are committed; the outside copy lags until the next
            # checkpoint reaches the log. Loud, since a cut tail goes unnoticed meanwhile.
            log.error("ledger checkpoint of %d rows not written to the checkpoint log: %s",
                      signed[-1].count, exc.strerror or type(exc).__name__)
