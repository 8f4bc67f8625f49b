"""The agency directory in the gateway database: listing, reading, (de)activating.

Each function works in the caller's session and does not commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.adapters.orm import agencies
from services.kit.errors import NotFound


def agency_view(row: Any, *, full: bool) -> dict[str, Any]:
    """An agency as the directory shows it: name and kind to everyone; roles, status and dates
    to the operator (``full``)."""
    view = {"id": row.id, "name": row.name, "kind": row.kind}
    if full:
        view.update(roles=row.roles, status=row.status, created_at=row.created_at,
                    status_changed_at=row.status_changed_at)
    return view


def list_agencies(session: Session, *, active_only: bool, after: str | None,
                  limit: int) -> tuple[list[Any], str | None]:
    """One page of agencies by id; ``(rows, next cursor or None)``."""
    query = select(agencies).order_by(agencies.c.id)
    if active_only:
        query = query.where(agencies.c.status == "active")
    if after is not None:
        query = query.where(agencies.c.id > after)
    rows = session.execute(query.limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def find_agency(session: Session, agency_id: str) -> Any:
    """The agency's row; ``NotFound`` when there is none."""
    row = session.execute(select(agencies).where(agencies.c.id == agency_id)).first()
    if row is None:
        raise NotFound("No such agency.")
    return row


def set_status(session: Session, agency_id: str, status: str, now: datetime) -> None:
    session.execute(update(agencies).where(agencies.c.id == agency_id)
                    .values(status=status, status_changed_at=now))
