"""The gateway's own tables: agencies, their API keys, Idempotency-Key records, and the people
who sign in for an agency with their sessions, and SMART back-end clients with their tokens.

An agency is ``active`` or ``deactivated`` (its keys and its people's sessions are refused while
it is). A key has a name (the ledger names it ``key:<name>``), the roles it may act in (``NULL``:
every role of its agency, as keys issued before keys had roles), when it was last used (to the
minute), and ``expires_at`` once a rotation replaced it; ``revoked_at`` ends it at once. An
idempotency record keeps a digest of the request and the created object's id, never a response:
no API key and nothing personal is stored with it. A person's name, email and TOTP secret are
sealed (``ENCRYPTED``); the email is found at sign-in by ``email_index``, a keyed digest.
Invitation and session tokens are stored only as digests.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

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

people = Table(
    "people", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),  # sealed
    Column("email", Text, nullable=False),  # sealed
    Column("email_index", String(64), nullable=False, unique=True),
    Column("roles", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # invited, enrolling, active, deactivated
    Column("invitation_digest", String(64), nullable=True, unique=True),
    Column("invitation_expires_at", UTCDateTime, nullable=True),
    Column("password_hash", Text, nullable=True),  # argon2id, with its own salt and parameters
    Column("totp_secret", Text, nullable=True),  # sealed
    Column("totp_last_step", BigInteger, nullable=True),  # a code is accepted once
    Column("failed_sign_ins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

person_sessions = Table(
    "person_sessions", metadata,
    Column("id", String(32), primary_key=True),
    Column("person_id", String(36), ForeignKey("people.id"), nullable=False, index=True),
    Column("digest", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),  # the absolute limit
    Column("ended_at", UTCDateTime, nullable=True),
)

# Sealed columns, for ``referral-network keys rotate gateway``.
ENCRYPTED = {"people": ("name", "email", "totp_secret")}

# SMART Backend Services (gateway/smart.py): an agency's registered back-end clients with their
# public keys (inline, or the URL of their key set) and the system scopes they may be granted;
# the assertion ids (``jti``) already used, kept until the assertion expires; and the access
# tokens issued, stored only as digests.
smart_clients = Table(
    "smart_clients", metadata,
    Column("client_id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("jwks", JSON, nullable=True),
    Column("jwks_uri", String(2048), nullable=True),
    Column("scopes", JSON, nullable=False),
    Column("roles", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

smart_assertions = Table(
    "smart_assertions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(36), nullable=False),
    Column("jti", String(255), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    UniqueConstraint("client_id", "jti", name="uq_smart_assertion_jti"),
)

smart_tokens = Table(
    "smart_tokens", metadata,
    Column("token_id", String(32), primary_key=True),
    Column("client_id", String(36), ForeignKey("smart_clients.client_id"), nullable=False, index=True),
    Column("digest", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
