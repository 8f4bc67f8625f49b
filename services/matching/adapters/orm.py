"""The matching service's tables, on the kit's metadata (which already holds outbox and inbox).

Nothing here names or reaches a participant: a referral is its opaque ids and the matching
criteria from ``referral.requested``. The only personal-ish field is a mentor's display name,
a first name and initial the coordinator chose.

Two invariants live in the database itself, so no code path and no race can break them:
- ``caseload <= capacity`` (a CHECK); accepting increments with a conditional UPDATE whose
  row count decides between accepted and 409.
- at most one live (proposed or accepted) match per referral (a partial unique index).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from services.kit.creations import add_creations_table
from services.kit.db import UTCDateTime, service_metadata

LIVE_STATUSES = ("proposed", "accepted")

metadata = service_metadata()
# Which mentor each Idempotency-Key registered (services.kit.creations).
creations = add_creations_table(metadata)

mentors = Table(
    "mentors", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(64), nullable=False, index=True),
    Column("agency_kind", String(16), nullable=False),
    Column("display_name", String(80), nullable=False),
    Column("languages", JSON, nullable=False),
    Column("gender", String(16), nullable=True),
    Column("age", Integer, nullable=True),
    Column("pathways", JSON, nullable=False),
    Column("lived_experience", JSON, nullable=False),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("radius_km", Float, nullable=False),
    Column("remote_ok", Boolean, nullable=False),
    Column("availability", JSON, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("caseload", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("certified_until", Date, nullable=False),
    # On the ladder (trainee, certified, senior): the level's cap bounds the places taken.
    # NULL: not placed on the ladder, bound by their own capacity only.
    Column("level", String(16), nullable=True),
    # A person id of the peer group or a name-free reference; never a name.
    Column("supervisor", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The registry version of the mentor's last change of details (not of caseload).
    Column("changed_version", Integer, nullable=False, index=True),
    CheckConstraint("capacity >= 0", name="ck_mentors_capacity_not_negative"),
    CheckConstraint("caseload >= 0 AND caseload <= capacity", name="ck_mentors_caseload_within_capacity"),
)

# One row, bumped (row-locked) by every change to a mentor's details, never by caseload changes:
# with one read a replica knows whether its cached registry is current, and which mentors
# changed since (``mentors.changed_version``). Committed versions are gap-free and in order.
registry_version = Table(
    "registry_version", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

# Matching's view of a referral: ids, consent scope and criteria. ``criteria`` is dropped when
# the referral closes; the row stays as a tombstone so a late duplicate request is ignored.
referrals = Table(
    "referrals", metadata,
    Column("id", String(64), primary_key=True),
    Column("referrer_agency_id", String(64), nullable=False),
    Column("participant_id", String(64), nullable=False),  # opaque, issued by consent
    Column("consent_id", String(64), nullable=False, index=True),
    Column("urgency", String(16), nullable=False),
    Column("allowed", JSON, nullable=False),  # {"agencies": [...], "classes": [...]}
    Column("blocked_agencies", JSON, nullable=False),  # taken off the consent by name
    Column("criteria", JSON, nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True, index=True),
    Column("closed_reason", String(32), nullable=True),
)

matches = Table(
    "matches", metadata,
    Column("id", String(36), primary_key=True),
    Column("referral_id", String(64), ForeignKey("referrals.id"), nullable=False, index=True),
    Column("referrer_agency_id", String(64), nullable=False),
    Column("mentor_id", String(36), ForeignKey("mentors.id"), nullable=False, index=True),
    Column("mentor_agency_id", String(64), nullable=False, index=True),
    Column("urgency", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("explanation", JSON, nullable=False),
    Column("proposed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    # When an accepted match stopped counting towards its mentor's caseload (referral closed).
    Column("released_at", UTCDateTime, nullable=True),
    # A machine code only (a status reason, "consent_revoked", ...): what a coordinator wrote is not kept.
    Column("reason_code", String(32), nullable=True),
    CheckConstraint("status IN ('proposed', 'accepted', 'declined', 'expired', 'withdrawn')",
                    name="ck_matches_status"),
)
_live = matches.c.status.in_(LIVE_STATUSES)
Index("uq_matches_one_live_per_referral", matches.c.referral_id, unique=True,
      postgresql_where=_live, sqlite_where=_live)
Index("ix_matches_status_expires", matches.c.status, matches.c.expires_at)

# Mentors never to be proposed again for a referral: they declined it or let it expire.
referral_exclusions = Table(
    "referral_exclusions", metadata,
    Column("referral_id", String(64), ForeignKey("referrals.id"), primary_key=True),
    Column("mentor_id", String(36), primary_key=True),
    Column("reason", String(16), nullable=False),  # "declined" | "expired"
    Column("at", UTCDateTime, nullable=False),
)

# Certification expiry reminders sent: one per mentor, threshold (days before expiry) and
# certification date, so a renewed certification is reminded of again.
certification_reminders = Table(
    "certification_reminders", metadata,
    Column("mentor_id", String(36), ForeignKey("mentors.id"), primary_key=True),
    Column("certified_until", Date, primary_key=True),
    Column("days", Integer, primary_key=True),
    Column("sent_at", UTCDateTime, nullable=False),
)
