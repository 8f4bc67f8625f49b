"""SMART back-end clients, their used assertion ids and their access tokens in the gateway database.

Each function works in the caller's session and does not commit, except ``spend_jti``, whose
insert is the atomic test of a replay. Clients are addressed by client id within their agency:
another agency's client answers like an unknown one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.adapters.orm import agencies, smart_assertions, smart_clients, smart_tokens
from services.kit.errors import Conflict, NotFound

_CLIENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class SmartClient:
    """A registered client, with what its tokens act as: its agency's kind, and its roles within
    the agency's current roles."""

    client_id: str
    agency_id: str
    name: str
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    scopes: list[str]
    roles: frozenset[str]
    kind: str
    live: bool  # not revoked, and its agency active


@dataclass(frozen=True)
class StoredToken:
    token_id: str
    digest: str
    scopes: list[str]
    expires_at: datetime
    client: SmartClient


def client_view(row: Any) -> dict[str, Any]:
    """A client as its agency's admin sees it."""
    return {"client_id": row.client_id, "name": row.name, "scopes": row.scopes, "roles": row.roles,
            "jwks": row.jwks, "jwks_uri": row.jwks_uri,
            "status": "revoked" if row.revoked_at is not None else "active",
            "created_at": row.created_at, "revoked_at": row.revoked_at}


def insert_client(session: Session, *, client_id: str, agency_id: str, name: str, jwks: dict | None,
                  jwks_uri: str | None, scopes: list[str], roles: list[str], now: datetime) -> None:
    session.execute(insert(smart_clients).values(
        client_id=client_id, agency_id=agency_id, name=name, jwks=jwks, jwks_uri=jwks_uri,
        scopes=scopes, roles=sorted(roles), created_at=now))


def ensure_name_free(session: Session, agency_id: str, name: str) -> None:
    """``Conflict`` when a live client of the agency already has ``name`` (its actor label)."""
    taken = session.execute(select(smart_clients.c.client_id).where(
        smart_clients.c.agency_id == agency_id, smart_clients.c.name == name,
        smart_clients.c.revoked_at.is_(None))).first()
    if taken is not None:
        raise Conflict("The agency has a client of that name already; revoke it first.")


def list_clients(session: Session, agency_id: str, *, after: str | None,
                 limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the agency's clients by client id; ``(items, next cursor or None)``."""
    query = select(smart_clients).where(smart_clients.c.agency_id == agency_id)
    if after is not None:
        query = query.where(smart_clients.c.client_id > after)
    rows = session.execute(query.order_by(smart_clients.c.client_id).limit(limit + 1)).all()
    items = [client_view(row) for row in rows[:limit]]
    return items, (rows[limit - 1].client_id if len(rows) > limit else None)


def find_agency_client(session: Session, agency_id: str, client_id: str) -> Any:
    """The agency's client row; ``NotFound`` for an unknown id, one not shaped as a client id,
    or another agency's client."""
    if not _CLIENT_ID.fullmatch(client_id):
        raise NotFound("No such client.")
    row = session.execute(select(smart_clients).where(
        smart_clients.c.client_id == client_id, smart_clients.c.agency_id == agency_id)).first()
    if row is None:
        raise NotFound("No such client.")
    return row


def revoke_client(session: Session, client_id: str, now: datetime) -> None:
    """End the client now: its tokens are refused from the next request (first time kept)."""
    session.execute(update(smart_clients).where(smart_clients.c.client_id == client_id,
                                                smart_clients.c.revoked_at.is_(None))
                    .values(revoked_at=now))


_CLIENT_COLUMNS = (smart_clients.c.client_id, smart_clients.c.name, smart_clients.c.jwks,
                   smart_clients.c.jwks_uri, smart_clients.c.scopes,
                   smart_clients.c.roles.label("client_roles"), smart_clients.c.revoked_at,
                   agencies.c.id.label("agency_id"), agencies.c.kind, agencies.c.roles,
                   agencies.c.status)


def _client(row: Any) -> SmartClient:
    return SmartClient(row.client_id, row.agency_id, row.name, row.jwks, row.jwks_uri, list(row.scopes),
                       frozenset(row.client_roles) & frozenset(row.roles), row.kind,
                       row.revoked_at is None and row.status == "active")


def find_client(session: Session, client_id: str) -> SmartClient | None:
    """The client ``client_id`` with its agency, or None."""
    if not _CLIENT_ID.fullmatch(client_id):
        return None
    row = session.execute(select(*_CLIENT_COLUMNS)
                          .join(agencies, agencies.c.id == smart_clients.c.agency_id)
                          .where(smart_clients.c.client_id == client_id)).first()
    return _client(row) if row else None


def spend_jti(uow, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record the assertion id ``jti`` of ``client_id`` as used until ``expires_at``; False when it
    was used already. Commits: the unique constraint makes two concurrent uses one."""
    with uow:
        try:
            uow.session.execute(insert(smart_assertions).values(
                client_id=client_id, jti=jti, expires_at=expires_at))
            uow.commit()
        except IntegrityError:
            uow.rollback()
            return False
    return True


def insert_token(session: Session, *, token_id: str, client_id: str, digest: str, scopes: list[str],
                 now: datetime, expires_at: datetime) -> None:
    session.execute(insert(smart_tokens).values(
        token_id=token_id, client_id=client_id, digest=digest, scopes=scopes, created_at=now,
        expires_at=expires_at))


def find_token(session: Session, token_id: str) -> StoredToken | None:
    """The access token ``token_id`` with its client and agency, or None."""
    row = session.execute(select(smart_tokens.c.token_id, smart_tokens.c.digest,
                                 smart_tokens.c.scopes.label("token_scopes"),
                                 smart_tokens.c.expires_at, *_CLIENT_COLUMNS)
                          .join(smart_clients, smart_clients.c.client_id == smart_tokens.c.client_id)
                          .join(agencies, agencies.c.id == smart_clients.c.agency_id)
                          .where(smart_tokens.c.token_id == token_id)).first()
    if row is None:
        return None
    return StoredToken(row.token_id, row.digest, list(row.token_scopes), row.expires_at, _client(row))


def purge(session: Session, now: datetime) -> int:
    """Forget used assertion ids and access tokens past their expiry; how many rows went."""
    spent = session.execute(delete(smart_assertions).where(smart_assertions.c.expires_at <= now))
    tokens = session.execute(delete(smart_tokens).where(smart_tokens.c.expires_at <= now))
    return spent.rowcount + tokens.rowcount
