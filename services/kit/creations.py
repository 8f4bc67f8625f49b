"""Creating at most once per Idempotency-Key, in the service that owns what is created.

The gateway passes a creating request's ``Idempotency-Key`` on with the RPC. The owning service
writes ``(agency_id, key) → (fingerprint, object id)`` into its ``creations`` table in the same
transaction as the object, under a unique constraint, so whatever the gateway, the broker or a
clock does (a retry after a 503, a queued RPC run late, two attempts at once) the object exists
once per key. A later request with the key gets the object back; one with another body gets
``Conflict``.

A handler uses it in three steps (see ``services/referrals/handlers/commands.py``):
``earlier_object`` before doing any work (a repeat answers at once), ``record_creation`` in the
transaction that adds the object, and ``CreatedMeanwhile`` raised from it when a concurrent
attempt with the same key committed first, which the handler answers with that attempt's object.

A request that creates nothing but is still worth an event (a referral consent refused) records
no creation, so a retry is answered afresh; ``derived_event_id`` gives every attempt of it the
same event id, so the event is staged, and counted downstream, once per key.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Insert,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.kit.db import UTCDateTime, transaction_lock_key
from services.kit.errors import Conflict, InvalidRequest

HEADER = "Idempotency-Key"
TABLE = "creations"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
# The namespace of event ids derived from a creating request (uuid5: a digest, not a secret).
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:referral-network:creations:events")


@dataclass(frozen=True)
class Creation:
    """One creating request: the asking agency, its key, and a digest of what it asked."""

    agency_id: str
    key: str
    fingerprint: str


class CreatedMeanwhile(Exception):
    """Another attempt with the same key committed its object while this one was working."""


def check_key(key: str) -> str:
    """The key if well formed; raises ``InvalidRequest`` naming the header otherwise."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidRequest("Invalid Idempotency-Key.",
                             errors={HEADER: ["Use 1 to 255 printable ASCII characters."]})
    return key


def fingerprint(*parts: Any) -> str:
    """SHA-256 of ``parts`` as canonical JSON (sorted keys, no spaces): key order does not count."""
    canonical = json.dumps(list(parts), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def creation_of(agency_id: str, key: str | None, request: Mapping[str, Any]) -> Creation | None:
    """The ``Creation`` for a request carrying ``key``; None without one (nothing is deduplicated).

    Raises ``InvalidRequest`` for a malformed key.
    """
    if key is None:
        return None
    return Creation(agency_id, check_key(key), fingerprint(agency_id, request))


def add_creations_table(metadata: MetaData) -> Table:
    """Add the ``creations`` table to a service's metadata (services that create things call it)."""
    return Table(
        TABLE, metadata,
        Column("agency_id", String(64), nullable=False),
        Column("key", String(255), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("object_id", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("agency_id", "key", name="pk_creations"),
    )


class Creations:
    """The ``creations`` table within the unit of work's session (it commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.table = session.info["metadata"].tables[TABLE]

    def find(self, agency_id: str, key: str) -> tuple[str, str] | None:
        """``(fingerprint, object id)`` recorded for the key, or None."""
        row = self.session.execute(select(self.table.c.fingerprint, self.table.c.object_id).where(
            self.table.c.agency_id == agency_id, self.table.c.key == key)).first()
        return (row.fingerprint, row.object_id) if row else None

    def add(self, creation: Creation, object_id: str, at: datetime, *, holding: str | None = None) -> None:
        """Record the creation; raises ``CreatedMeanwhile`` if the key was recorded first.

        With ``holding``, the transaction lock of that name (``hold_transaction_lock``) is taken
        first, by the same statement, so that one round trip does both. Like that lock, it is
        PostgreSQL's: SQLite's single writer needs none.
        """
        values = {"agency_id": creation.agency_id, "key": creation.key,
                  "fingerprint": creation.fingerprint, "object_id": object_id, "created_at": at}
        statement = insert(self.table)
        if holding is not None and self.session.get_bind().dialect.name == "postgresql":
            statement = _add_holding(self.table)
            values["lock_key"] = transaction_lock_key(holding)
        # No savepoint: a duplicate abandons the whole transaction, which the caller leaves.
        try:
            self.session.execute(statement, values)
        except IntegrityError:
            raise CreatedMeanwhile(creation.key) from None


@cache
def _add_holding(table: Table) -> Insert:
    """The record inserted after taking a transaction lock, in one statement (PostgreSQL; built
    once per service's table). Every insert of a key takes its lock first, so a transaction never
    holds a key while it waits for a lock that another one, waiting for that key, holds."""
    held = select(func.pg_advisory_xact_lock(bindparam("lock_key", type_=BigInteger))).subquery("held")
    row = select(*(bindparam(c.name, type_=c.type) for c in table.c)).select_from(held)
    return insert(table).from_select([c.name for c in table.c], row)


def earlier_object(uow, creation: Creation | None) -> str | None:
    """The id of the object an earlier request with this key created, or None.

    Call inside ``with uow:``. Raises ``Conflict`` when the key was used for another request.
    """
    if creation is None:
        return None
    found = uow.creations.find(creation.agency_id, creation.key)
    if found is None:
        return None
    recorded_fingerprint, object_id = found
    if recorded_fingerprint != creation.fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different request.")
    return object_id


def record_creation(uow, creation: Creation | None, object_id: str, at: datetime, *,
                    holding: str | None = None) -> None:
    """Record in the open transaction that ``creation`` made ``object_id`` (nothing without a key).

    With ``holding`` and a key, the transaction lock of that name (``hold_transaction_lock``) is
    taken first, by the same statement. Raises ``CreatedMeanwhile`` when a concurrent attempt
    with the same key committed first; the transaction is then rolled back by leaving the unit
    of work.
    """
    if creation is not None:
        uow.creations.add(creation, object_id, at, holding=holding)


def derived_event_id(creation: Creation | None, event_type: str) -> str | None:
    """The id of the ``event_type`` event this request stages: the same for every retry of it.

    Derived (uuid5) from the asking agency, the key and the request's fingerprint, so a retry of
    the same request under the same key gets the same id and the outbox and every consumer's
    inbox keep the event once; another request under the key (which would be a ``Conflict`` had
    the first created something) is another event. None without a key: a new random id.
    """
    if creation is None:
        return None
    name = "\n".join((event_type, creation.agency_id, creation.key, creation.fingerprint))
    return str(uuid.uuid5(_EVENT_IDS, name))
