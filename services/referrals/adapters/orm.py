"""The referrals service's tables, on the kit's metadata (which already holds outbox and inbox).

Free text a person wrote (the referral's reason, the reasons in its history), the exact needs
(age, location) and the participant details of a handoff packet are stored as field-encryption
tokens bound to ``<table>/<column>/<row id>``; ``ENCRYPTED`` lists them for key rotation.
Ids, statuses and codes stay in clear so the service can filter on them.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from services.kit.creations import add_creations_table
from services.kit.db import UTCDateTime, service_metadata

metadata = service_metadata()
# Which referral each Idempotency-Key created (services.kit.creations).
creations = add_creations_table(metadata)

referrals = Table(
    "referrals", metadata,
    Column("id", String(36), primary_key=True),
    Column("referrer_agency_id", String(64), nullable=False, index=True),
    Column("assigned_agency_id", String(64), nullable=True, index=True),
    Column("participant_id", String(64), nullable=False),  # an opaque id issued by consent
    Column("consent_id", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("urgency", String(16), nullable=False),
    Column("reason", Text, nullable=False),  # sealed
    Column("needs", Text, nullable=False),  # sealed JSON: exact age and location
    Column("match", JSON, nullable=True),  # ids, score and explanation: nothing personal
    Column("waitlisted", Boolean, nullable=False, default=False),
    Column("match_updated_at", UTCDateTime, nullable=True),
    Column("handoff_open", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Optimistic concurrency: every save checks and bumps it.
    Column("version", Integer, nullable=False),
    # The referrer's own identifier for the referral and its namespace (a FHIR Identifier).
    Column("external_id", String(200), nullable=True),
    Column("external_id_system", String(255), nullable=True),
)
# Listing pages newest first through an agency's own referrals.
Index("ix_referrals_created", referrals.c.created_at, referrals.c.id)
# A referrer's identifier names one referral of that referrer (per system).
Index("ux_referrals_external_id", referrals.c.referrer_agency_id, referrals.c.external_id,
      referrals.c.external_id_system, unique=True)
Index("ix_referrals_participant", referrals.c.participant_id)
Index("ix_referrals_updated", referrals.c.updated_at)

referral_history = Table(
    "referral_history", metadata,
    Column("id", String(80), primary_key=True),  # "<referral id>:<seq>", bound into the tokens
    Column("referral_id", String(36), ForeignKey("referrals.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(64), nullable=False),
    Column("reason", Text, nullable=True),  # sealed when a person wrote it
    Column("reason_code", String(64), nullable=True),
)

# What the assigned peer group receives: kept only while its handoff is open.
handoff_packets = Table(
    "handoff_packets", metadata,
    Column("id", String(36), ForeignKey("referrals.id"), primary_key=True),  # the referral's id
    Column("agency_id", String(64), nullable=False),
    Column("participant", Text, nullable=False),  # sealed JSON
    Column("consent", JSON, nullable=False),  # the consent summary: scope, no personal details
    Column("redisclosure_notice", Text, nullable=False),
    Column("decision_id", String(64), nullable=True),
    Column("disclosed_at", UTCDateTime, nullable=False),
    # The data classes disclosed (reason, needs ride on them); None: contact and demographics.
    Column("data_classes", JSON, nullable=True),
)

ENCRYPTED: dict[str, tuple[str, ...]] = {
    "referrals": ("reason", "needs"),
    "referral_history": ("reason",),
    "handoff_packets": ("participant",),
}

# Consent endings heard (``consent.revoked`` / ``consent.expired``), so that a referral whose
# creation commits after its consent's ending was handled is ended as it is recorded: the
# creation and the handler hold the consent's transaction lock in turn. Ids and codes only.
consent_endings = Table(
    "consent_endings", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("consent_id", String(64), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("scope", JSON, nullable=False),  # the event's full, revoked and remaining
    Column("occurred_at", UTCDateTime, nullable=False),
)
