"""SQL-backed stores for the gateway: the agency directory, API keys, idempotency records."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from gateway.adapters.keys import LAST_USED_RESOLUTION, touch
from gateway.adapters.orm import agencies, api_keys, idempotency_records
from gateway.auth import StoredKey, issue_api_key
from gateway.idempotency import RETENTION, IdempotencyRecord
from gateway.key_cache import KeyCache
from services.kit.creations import Creations
from services.kit.db import insert_for, utcnow

# Built once: every POST with an Idempotency-Key claims its key and records what it made.
_COMPLETE = (update(idempotency_records)
             .where(idempotency_records.c.agency_id == bindparam("b_agency_id"),
                    idempotency_records.c.key == bindparam("b_key"))
             .values(object_id=bindparam("object_id")))


@cache
def _claim_statement(dialect: str) -> Insert:
    return (insert_for(dialect)(idempotency_records)
            .on_conflict_do_nothing(index_elements=["agency_id", "key"])
            .returning(idempotency_records.c.id))


def create_agency(session: Session, pepper: bytes, *, name: str, kind: str,
                  roles: Iterable[str], agency_id: str | None = None) -> tuple[dict, str]:
    """Insert an agency with a fresh API key (named ``default``, acting in every role of the
    agency); returns ``(agency, api_key)``. Does not commit."""
    agency = {"id": agency_id or str(uuid.uuid4()), "name": name, "kind": kind, "roles": sorted(set(roles)),
              "created_at": utcnow()}
    session.execute(insert(agencies).values(**agency))
    issued = issue_api_key(pepper)
    session.execute(insert(api_keys).values(
        key_id=issued.key_id, agency_id=agency["id"], digest=issued.digest, created_at=utcnow()))
    return agency, issued.api_key


def find_agency(session: Session, agency_id: str) -> dict | None:
    """The agency's directory entry (never its key), or None."""
    row = session.execute(select(agencies).where(agencies.c.id == agency_id)).mappings().first()
    return dict(row) if row else None


def gateway_repositories(session: Session, ring: object = None) -> dict:
    """What the gateway's unit of work carries: ``uow.creations`` (agencies made per key)."""
    return {"creations": Creations(session)}


def agency_kinds(session: Session, agency_ids: Iterable[str]) -> dict[str, str]:
    """``{agency id: kind}`` for the ids that exist."""
    ids = list(set(agency_ids))
    if not ids:
        return {}
    rows = session.execute(select(agencies.c.id, agencies.c.kind).where(agencies.c.id.in_(ids)))
    return dict(rows.all())


def agency_names(session: Session, agency_ids: Iterable[str]) -> dict[str, str]:
    """``{agency id: registered name}`` for the ids that exist."""
    ids = list(set(agency_ids))
    if not ids:
        return {}
    rows = session.execute(select(agencies.c.id, agencies.c.name).where(agencies.c.id.in_(ids)))
    return dict(rows.all())


class SqlKeyStore:
    """Reads a key's row, or takes it from the process's ``KeyCache`` (``gateway/key_cache.py``):
    a revocation, a rotation or an agency's deactivation drops the cached entry before it is
    answered here, and in every other gateway process when its broadcast arrives.

    One store serves one request: it remembers when the key it found was last used, so
    ``mark_used`` writes only when that is older than ``keys.LAST_USED_RESOLUTION``.
    """

    def __init__(self, uow, cache: KeyCache | None = None) -> None:
        self.uow = uow
        self.cache = cache
        self._last_used: dict[str, datetime | None] = {}

    def find_key(self, key_id: str) -> StoredKey | None:
        if self.cache is not None:
            cached = self.cache.get(key_id)
            if cached is not None:
                self._last_used[key_id] = cached.last_used_at
                return cached.stored
            ticket = self.cache.ticket()
        with self.uow:
            row = self.uow.session.execute(
                select(api_keys.c.key_id, api_keys.c.digest, api_keys.c.revoked_at,
                       api_keys.c.name, api_keys.c.roles.label("key_roles"), api_keys.c.expires_at,
                       api_keys.c.last_used_at,
                       agencies.c.id, agencies.c.kind, agencies.c.roles, agencies.c.status)
                .join(agencies, agencies.c.id == api_keys.c.agency_id)
                .where(api_keys.c.key_id == key_id)
            ).first()
        if row is None:
            return None  # never cached: a key created a moment ago works at once
        self._last_used[key_id] = row.last_used_at
        roles = set(row.roles) if row.key_roles is None else set(row.roles) & set(row.key_roles)
        stored = StoredKey(row.key_id, row.digest, row.id, row.kind, frozenset(roles),
                           revoked=row.revoked_at is not None, name=row.name,
                           expires_at=row.expires_at, agency_active=row.status == "active")
        if self.cache is not None:
            self.cache.put(stored, row.last_used_at, ticket)
        return stored

    def mark_used(self, key_id: str, now: datetime) -> None:
        """Record the key's use (at most once a minute: ``keys.LAST_USED_RESOLUTION``)."""
        last = self._last_used.get(key_id)
        if last is not None and now - last < LAST_USED_RESOLUTION:
            return
        with self.uow:
            if touch(self.uow.session, key_id, now):
                self.uow.commit()
        # Written now, or by another process within the last minute: either way not again soon.
        self._last_used[key_id] = now
        if self.cache is not None:
            self.cache.note_used(key_id, now)


class SqlIdempotencyStore:
    """Claims are atomic through the unique (agency, key) constraint; take-overs compare the lease.

    Each call is its own short transaction, so no database is held while the
    request it guards waits on a service.
    """

    def __init__(self, uow) -> None:
        self.uow = uow

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """A new key is claimed in one statement (an insert that yields to the unique
        constraint); only a key seen before is read, and an expired one replaced.

        A transaction, although the insert alone would be atomic: a claim cut off by the
        deadline (a stalled database) must not commit once the server gets to it, or the key
        would answer "in flight" to every retry until its lease ran out."""
        with self.uow:
            session = self.uow.session
            if self._insert_new(session, record):
                self.uow.commit()
                return None
            existing = self._find(session, record.agency_id, record.key)
            if existing is not None and existing.expires_at > record.created_at:
                return existing
            if existing is not None:
                self._delete(session, record.agency_id, record.key)
            if self._insert_new(session, record):
                self.uow.commit()
                return None
            self.uow.rollback()  # a concurrent retry claimed it first
            return self._find(session, record.agency_id, record.key)

    @staticmethod
    def _insert_new(session: Session, record: IdempotencyRecord) -> bool:
        """Insert the claim unless (agency, key) is taken (SQLite and PostgreSQL both say
        ``ON CONFLICT DO NOTHING``); whether it was inserted."""
        done = session.execute(_claim_statement(session.get_bind().dialect.name), {
            "agency_id": record.agency_id, "key": record.key, "fingerprint": record.fingerprint,
            "created_at": record.created_at, "lease_until": record.lease_until})
        return done.first() is not None

    def take_over(self, stale: IdempotencyRecord, lease_until: datetime) -> bool:
        with self.uow:
            taken = self.uow.session.execute(
                update(idempotency_records)
                .where(self._of(stale.agency_id, stale.key),
                       idempotency_records.c.lease_until == stale.lease_until,
                       idempotency_records.c.object_id.is_(None))
                .values(lease_until=lease_until))
            self.uow.commit()
        return taken.rowcount == 1

    def complete(self, agency_id: str, key: str, object_id: str) -> None:
        """Record the object the key made. One statement that commits by itself: if it is cut off
        and commits late, the record says what is true; if it never commits, a retry finds the
        claim and the owning service answers the object its key made."""
        with self.uow.one_statement():
            self.uow.session.execute(_COMPLETE, {"b_agency_id": agency_id, "b_key": key,
                                                 "object_id": object_id})
            self.uow.commit()

    def release(self, agency_id: str, key: str) -> None:
        with self.uow:
            self._delete(self.uow.session, agency_id, key)
            self.uow.commit()

    def purge(self, now: datetime) -> int:
        with self.uow:
            purged = self.uow.session.execute(delete(idempotency_records).where(
                idempotency_records.c.created_at <= now - RETENTION))
            self.uow.commit()
        return purged.rowcount

    @staticmethod
    def _of(agency_id: str, key: str):
        return (idempotency_records.c.agency_id == agency_id) & (idempotency_records.c.key == key)

    @classmethod
    def _delete(cls, session: Session, agency_id: str, key: str) -> None:
        session.execute(delete(idempotency_records).where(cls._of(agency_id, key)))

    @classmethod
    def _find(cls, session: Session, agency_id: str, key: str) -> IdempotencyRecord | None:
        row = session.execute(select(idempotency_records).where(cls._of(agency_id, key))).first()
        if row is None:
            return None
        return IdempotencyRecord(row.agency_id, row.key, row.fingerprint, row.created_at,
                                 row.lease_until, row.object_id)
