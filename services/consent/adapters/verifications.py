"""Background ledger verifications, as the consent service keeps them (``ledger_verifications``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.consent.adapters.orm import ledger_verifications as table

RUNNING, DONE, ABANDONED = "running", "done", "abandoned"


class AlreadyRunning(Exception):
    """Another verification started first (the ``running`` slot is taken)."""


class VerificationRepository:
    """Verifications in one unit of work's session; each read answers the JSON-ready view."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def start(self, verification_id: str, at: datetime) -> dict[str, Any]:
        """A new running verification; ``AlreadyRunning`` when one is under way already."""
        try:
            with self.session.begin_nested():  # a lost race leaves the transaction usable
                self.session.execute(insert(table).values(
                    id=verification_id, state=RUNNING, running=1, started_at=at, updated_at=at,
                    checked=0))
        except IntegrityError:
            raise AlreadyRunning() from None
        return self.get(verification_id)

    def running(self) -> dict[str, Any] | None:
        row = self.session.execute(select(table).where(table.c.running == 1)).first()
        return _view(row) if row is not None else None

    def get(self, verification_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(table).where(table.c.id == verification_id)).first()
        return _view(row) if row is not None else None

    def latest_done(self) -> dict[str, Any] | None:
        row = self.session.execute(select(table).where(table.c.state == DONE)
                                   .order_by(table.c.finished_at.desc()).limit(1)).first()
        return _view(row) if row is not None else None

    def progress(self, verification_id: str, checked: int, at: datetime) -> None:
        self.session.execute(update(table).where(table.c.id == verification_id, table.c.running == 1)
                             .values(checked=checked, updated_at=at))

    def finish(self, verification_id: str, state: str, result: dict[str, Any] | None,
               at: datetime) -> None:
        """End the verification as ``state`` (done, abandoned), freeing the running slot."""
        checked = result.get("entries") if result else None
        values = {"state": state, "running": None, "result": result, "updated_at": at, "finished_at": at}
        if checked is not None:
            values["checked"] = checked
        self.session.execute(update(table).where(table.c.id == verification_id).values(**values))


def _view(row) -> dict[str, Any]:
    return {"id": row.id, "state": row.state, "started_at": row.started_at, "updated_at": row.updated_at,
            "finished_at": row.finished_at, "checked": row.checked, "result": row.result}
