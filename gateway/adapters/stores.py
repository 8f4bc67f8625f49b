"""SQL-backed stores for the gateway: the agency directory, API keys, idempotency records."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.adapters.orm import agencies, api_keys, idempotency_records
from gateway.auth import StoredKey, issue_api_key
from gateway.idempotency import IdempotencyRecord, RecordedResponse
from services.kit.db import utcnow


def create_agency(session: Session, pepper: bytes, *, name: str, kind: str,
                  roles: Iterable[str]) -> tuple[dict, str]:
    """Insert an agency with a fresh API key; returns ``(agency, api_key)``. Does not commit."""
    agency = {"id": str(uuid.uuid4()), "name": name, "kind": kind, "roles": sorted(set(roles)),
              "created_at": utcnow()}
    session.execute(insert(agencies).values(**agency))
    issued = issue_api_key(pepper)
    session.execute(insert(api_keys).values(
        key_id=issued.key_id, agency_id=agency["id"], digest=issued.digest, created_at=utcnow()))
    return agency, issued.api_key


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
    def __init__(self, uow) -> None:
        self.uow = uow

    def find_key(self, key_id: str) -> StoredKey | None:
        with self.uow:
            row = self.uow.session.execute(
                select(api_keys.c.key_id, api_keys.c.digest, api_keys.c.revoked_at,
                       agencies.c.id, agencies.c.kind, agencies.c.roles)
                .join(agencies, agencies.c.id == api_keys.c.agency_id)
                .where(api_keys.c.key_id == key_id)
            ).first()
        if row is None:
            return None
        return StoredKey(row.key_id, row.digest, row.id, row.kind, frozenset(row.roles),
                         revoked=row.revoked_at is not None)


class SqlIdempotencyStore:
    """Claims are atomic through the unique (agency, key) constraint.

    Each call is its own short transaction, so no database is held while the
    request it guards waits on a service.
    """

    def __init__(self, uow) -> None:
        self.uow = uow

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        with self.uow:
            session = self.uow.session
            existing = self._find(session, record.agency_id, record.key)
            if existing is not None and existing.expires_at <= record.created_at:
                self._delete(session, record.agency_id, record.key)
                existing = None
            if existing is not None:
                return existing
            try:
                session.execute(insert(idempotency_records).values(
                    agency_id=record.agency_id, key=record.key, fingerprint=record.fingerprint,
                    created_at=record.created_at))
                self.uow.commit()
            except IntegrityError:
                self.uow.rollback()  # a concurrent retry claimed it first
                return self._find(session, record.agency_id, record.key)
            return None

    def complete(self, agency_id: str, key: str, response: RecordedResponse) -> None:
        with self.uow:
            self.uow.session.execute(
                update(idempotency_records)
                .where(idempotency_records.c.agency_id == agency_id, idempotency_records.c.key == key)
                .values(response_status=response.status, response_body=response.body))
            self.uow.commit()

    def release(self, agency_id: str, key: str) -> None:
        with self.uow:
            self._delete(self.uow.session, agency_id, key)
            self.uow.commit()

    @staticmethod
    def _delete(session: Session, agency_id: str, key: str) -> None:
        session.execute(delete(idempotency_records).where(
            idempotency_records.c.agency_id == agency_id, idempotency_records.c.key == key))

    @staticmethod
    def _find(session: Session, agency_id: str, key: str) -> IdempotencyRecord | None:
        row = session.execute(select(idempotency_records).where(
            idempotency_records.c.agency_id == agency_id, idempotency_records.c.key == key)).first()
        if row is None:
            return None
        response = None
        if row.response_status is not None:
            response = RecordedResponse(row.response_status, row.response_body)
        return IdempotencyRecord(row.agency_id, row.key, row.fingerprint,
                                 row.created_at, response)


