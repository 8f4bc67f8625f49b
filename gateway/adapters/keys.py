"""An agency's machine keys in the gateway database: listing, issuing, rotating, revoking.

Each function works in the caller's session and does not commit. Keys are addressed by key id
within their agency: another agency's key id is answered like an unknown one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from gateway.adapters.orm import api_keys
from gateway.auth import IssuedKey
from services.kit.errors import Conflict, NotFound

# ``last_used_at`` is written at most once a minute per key: a write per request would cost more
# than the time it records is worth.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_view(row: Any, now: datetime, agency_roles: Iterable[str] = ()) -> dict[str, Any]:
    """A key as its agency's admin sees it, never its digest. A key without roles of its own
    (issued before keys had roles) shows its agency's."""
    roles = row.roles if row.roles is not None else sorted(agency_roles)
    return {"id": row.key_id, "name": row.name, "roles": roles, "status": key_status(row, now),
            "created_at": row.created_at, "last_used_at": row.last_used_at,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at,
            "replaced_by": row.replaced_by}


def key_status(row: Any, now: datetime) -> str:
    """``active``, ``rotating`` (replaced, in its overlap), ``expired`` or ``revoked``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None:
        return "expired" if row.expires_at <= now else "rotating"
    return "active"


def list_keys(session: Session, agency_id: str, agency_roles: Iterable[str], now: datetime, *,
              after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the agency's keys by key id; ``(items, next cursor or None)``."""
    query = select(api_keys).where(api_keys.c.agency_id == agency_id)
    if after is not None:
        query = query.where(api_keys.c.key_id > after)
    rows = session.execute(query.order_by(api_keys.c.key_id).limit(limit + 1)).all()
    items = [key_view(row, now, agency_roles) for row in rows[:limit]]
    return items, (rows[limit - 1].key_id if len(rows) > limit else None)


def find_agency_key(session: Session, agency_id: str, key_id: str) -> Any:
    """The agency's key row; ``NotFound`` for an unknown id or another agency's key."""
    row = session.execute(select(api_keys).where(
        api_keys.c.key_id == key_id, api_keys.c.agency_id == agency_id)).first()
    if row is None:
        raise NotFound("No such key.")
    return row


def ensure_name_free(session: Session, agency_id: str, name: str, now: datetime) -> None:
    """``Conflict`` when a usable key of the agency already has ``name``: the ledger tells keys
    apart by name, so two live keys never share one (a rotation's pair is one key's succession)."""
    taken = session.execute(select(api_keys.c.key_id).where(
        api_keys.c.agency_id == agency_id, api_keys.c.name == name, api_keys.c.revoked_at.is_(None),
        or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now))).first()
    if taken is not None:
        raise Conflict("The agency has a key of that name already; rotate or revoke it.")


def insert_key(session: Session, issued: IssuedKey, *, agency_id: str, name: str,
               roles: list[str], now: datetime) -> None:
    session.execute(insert(api_keys).values(
        key_id=issued.key_id, agency_id=agency_id, digest=issued.digest, created_at=now,
        name=name, roles=sorted(roles)))


def ensure_usable(row: Any, now: datetime) -> None:
    """``Conflict`` for a key already revoked, replaced by an earlier rotation, or expired."""
    if key_status(row, now) != "active":
        raise Conflict("Only an active key can be rotated.")


def replace_key(session: Session, row: Any, issued: IssuedKey, *, roles: list[str],
                overlap: timedelta, now: datetime) -> None:
    """Issue ``issued`` under the old key's name and roles; the old key works until ``now + overlap``."""
    insert_key(session, issued, agency_id=row.agency_id, name=row.name, roles=roles, now=now)
    session.execute(update(api_keys).where(api_keys.c.key_id == row.key_id)
                    .values(expires_at=now + overlap, replaced_by=issued.key_id))


def revoke_key(session: Session, key_id: str, now: datetime) -> None:
    """End the key now (a key revoked already keeps its first revocation time)."""
    session.execute(update(api_keys).where(api_keys.c.key_id == key_id,
                                           api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=now))


def touch(session: Session, key_id: str, now: datetime) -> bool:
    """Record that the key was used now, unless it was within ``LAST_USED_RESOLUTION``."""
    stale = now - LAST_USED_RESOLUTION
    result = session.execute(update(api_keys).where(
        api_keys.c.key_id == key_id,
        or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < stale),
    ).values(last_used_at=now))
    return result.rowcount > 0
