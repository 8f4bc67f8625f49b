"""The gateway's own tables: agencies, their API keys, and Idempotency-Key records.

An agency is ``active`` or ``deactivated`` (its keys are refused while it is). A key has a name
(the ledger names it ``key:<name>``), the roles it may act in (``NULL``: every role of its agency,
as keys issued before keys had roles), when it was last used (to the minute), and ``expires_at``
once a rotation replaced it; ``revoked_at`` ends it at once. An idempotency record keeps a
digest of the request and the created object's id, never a response: no API key and nothing
personal is stored with it.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, UniqueConstraint

from services.kit.creations import add_creations_table
from services.kit.db import UTCDateTime, service_metadata

metadata = service_metadata()
# Which agency each Idempotency-Key registered (services.kit.creations).
creations = add_creations_table(metadata)

agencies = Table(
    "agencies", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("status_changed_at", UTCDateTime, nullable=True),
)

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(64), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("digest", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("name", String(64), nullable=False, server_default="default"),
    Column("roles", JSON, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("replaced_by", String(64), nullable=True),
)

idempotency_records = Table(
    "idempotency_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agency_id", String(36), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("lease_until", UTCDateTime, nullable=False),
    Column("object_id", String(64), nullable=True),
    UniqueConstraint("agency_id", "key", name="uq_idempotency_agency_key"),
)
