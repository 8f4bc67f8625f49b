"""The outcomes service's tables, on the kit's metadata (outbox and inbox included).

``outcome_events`` is the append-only log of every event consumed (ids, codes, timestamps; the
participant only as a digest). ``referral_outcomes``, ``consent_endings`` and ``consent_refusals``
are the read model: each row a pure function of the log (``services.outcomes.domain.projection``), so a replay
rebuilds them exactly. Nothing here is personal data, so nothing is sealed.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, String, Table

from services.kit.db import UTCDateTime, service_metadata

metadata = service_metadata()

outcome_events = Table(
    "outcome_events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("source", String(32), nullable=False),
    Column("referral_id", String(64), nullable=True, index=True),
    Column("consent_id", String(64), nullable=True),
    Column("participant_ref", String(32), nullable=True),
    Column("facts", JSON, nullable=False),
)

READ_MODEL = ("referral_outcomes", "consent_endings", "consent_refusals")

referral_outcomes = Table(
    "referral_outcomes", metadata,
    Column("referral_id", String(64), primary_key=True),
    Column("participant_ref", String(32), nullable=True),
    Column("referrer_agency_id", String(64), nullable=True),
    Column("urgency", String(16), nullable=True),
    Column("language", String(16), nullable=True),
    Column("peer_group_id", String(64), nullable=True),
    Column("mentor_id", String(64), nullable=True),
    Column("requested_at", UTCDateTime, nullable=True),
    Column("proposed_at", UTCDateTime, nullable=True),
    Column("accepted_at", UTCDateTime, nullable=True),
    Column("first_contact_at", UTCDateTime, nullable=True),
    Column("waitlisted_at", UTCDateTime, nullable=True),
    Column("wait_ended_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_status", String(16), nullable=True),
    Column("close_reason", String(32), nullable=True),
    Column("barc_handoff", Integer, nullable=True),
    Column("barc_day90", Integer, nullable=True),
    Column("engaged_windows", JSON, nullable=False),
)

consent_endings = Table(
    "consent_endings", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("participant_ref", String(32), nullable=True),
    Column("ended_at", UTCDateTime, nullable=False),
    Column("reason", String(16), nullable=False),
)

# Referrals consent refused as they were made (``referral.refused``): no referral exists, so each
# is a row of its own, with the groups the request named (no peer group: none was chosen).
consent_refusals = Table(
    "consent_refusals", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("participant_ref", String(32), nullable=True),
    Column("refused_at", UTCDateTime, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("referrer_agency_id", String(64), nullable=True),
    Column("urgency", String(16), nullable=True),
    Column("language", String(16), nullable=True),
)
