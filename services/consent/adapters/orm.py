"""The consent service's tables, on the kit's metadata (outbox and inbox included).

Consents are stored as the aggregate's JSON snapshots (one row per version, none of them
personal) beside the columns the service queries on. Participant details, the signer's name
and the revocation reason are sealed (``ENCRYPTED``): AES-GCM bound to table, column and row.
The ledger keeps ``at`` and ``details`` as the exact text that was hashed.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text

from services.kit.creations import add_creations_table
from services.kit.db import UTCDateTime, service_metadata

metadata = service_metadata()
# Which consent each Idempotency-Key recorded (services.kit.creations).
creations = add_creations_table(metadata)

PERSONAL_FIELDS = ("given_name", "family_name", "birth_date", "phone", "email", "preferred_language")
# Table -> sealed columns. ``consent_versions`` binds its cells to "<consent id>:<version>".
ENCRYPTED = {
    "consent_personal": (*PERSONAL_FIELDS, "signer_name"),
    "consents": ("revocation_reason",),
    "consent_versions": ("revocation_reason",),
}

consents = Table(
    "consents", metadata,
    Column("id", String(36), primary_key=True),
    Column("participant_id", String(36), nullable=False, index=True),
    # The agency that recorded the consent: the only one that may revoke it.
    Column("holder_agency_id", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("expires_on", String(32), nullable=True),
    Column("snapshot", JSON, nullable=False),  # revocation_reason removed: it is sealed below
    Column("revocation_reason", Text, nullable=True),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The expiry timer's query: active consents whose valid_until has passed.
    Index("ix_consents_due", "status", "valid_until"),
)

consent_versions = Table(
    "consent_versions", metadata,
    Column("consent_id", String(36), ForeignKey("consents.id"), primary_key=True),
    # The primary key also makes a second writer of the same version fail: no double revocation.
    Column("version", Integer, primary_key=True),
    Column("snapshot", JSON, nullable=False),
    Column("revocation_reason", Text, nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
)

consent_personal = Table(
    "consent_personal", metadata,
    Column("consent_id", String(36), ForeignKey("consents.id"), primary_key=True),
    *(Column(name, Text, nullable=True) for name in ENCRYPTED["consent_personal"]),
)

ledger = Table(
    "ledger", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("participant_id", String(36), nullable=True, index=True),
    Column("details", Text, nullable=False),  # canonical JSON, as hashed
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # A consent's terms entries (``recorded_terms``): a few rows per consent, however many
    # decisions and disclosures its participant's history holds under the same subject.
    Index("ix_ledger_terms", "subject", "action"),
)

ledger_checkpoints = Table(
    "ledger_checkpoints", metadata,
    Column("count", Integer, primary_key=True, autoincrement=False),
    Column("head_hash", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("signature", String(128), nullable=False),
)

disclosures = Table(
    "disclosures", metadata,
    Column("id", String(36), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("participant_id", String(36), nullable=False),
    Column("recipient", String(100), nullable=False),  # agency id, or "network:<kind>"
    Column("recipient_kind", String(32), nullable=True),
    Column("discloser", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("data_classes", JSON, nullable=False),
    Column("consent_id", String(36), nullable=False),
    Column("consent_version", Integer, nullable=False),
    Column("ledger_seq", Integer, nullable=False, unique=True),
    Index("ix_disclosures_participant", "participant_id", "at"),
)

# When each agency joined the network (ledgered as ``agency.created``): a class consent covers
# an agency admitted after its signature only with ``include_later_members``.
admissions = Table(
    "admissions", metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("admitted_at", UTCDateTime, nullable=False),
)

# Ledger verifications run in the background (``handlers.verification``): their progress and
# result. ``running`` is 1 for the one verification under way and NULL otherwise; being unique,
# it lets at most one run at a time across every replica.
ledger_verifications = Table(
    "ledger_verifications", metadata,
    Column("id", String(36), primary_key=True),
    Column("state", String(16), nullable=False),  # running, done, abandoned
    Column("running", Integer, nullable=True, unique=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("checked", Integer, nullable=False),
    Column("result", JSON, nullable=True),
)
