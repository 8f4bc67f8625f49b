"""The notifications service's tables, on the kit's metadata (outbox and inbox included).

Agencies' contact details and webhook secrets are stored sealed (``ENCRYPTED``):
AES-GCM tokens bound to table, column and agency id. Everything else here holds
ids, statuses and timestamps only.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text

from services.kit.db import UTCDateTime, service_metadata

metadata = service_metadata()

SETTINGS = "notification_settings"
# Columns sealed with the service's key ring; the URL too, since some receivers
# put an access token in it.
SUBSCRIPTIONS = "fhir_subscriptions"
ENCRYPTED = {SETTINGS: ("webhook_url", "webhook_secret", "email", "phone"),
             SUBSCRIPTIONS: ("endpoint",)}

settings = Table(
    SETTINGS, metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("agency_kind", String(32), nullable=False),
    Column("roles", JSON, nullable=False),
    # Kept apart from ``roles`` so escalations find network admins with one query.
    Column("network_admin", Boolean, nullable=False, default=False, index=True),
    Column("webhook_url", Text, nullable=True),
    Column("webhook_secret", Text, nullable=True),
    Column("email", Text, nullable=True),
    Column("phone", Text, nullable=True),
    Column("language", String(35), nullable=False),
    Column("quiet_hours", JSON, nullable=True),
    Column("channels", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", String(36), primary_key=True),
    # One delivery per (event, agency, channel): a replayed event cannot send twice.
    Column("key", String(300), nullable=False, unique=True),
    Column("agency_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("attempts", JSON, nullable=False),
    Column("message", JSON, nullable=False),  # Message.to_record(): ids and statuses only
    # Set while a dispatcher sends; the lease in ``next_attempt_at`` frees a crashed claim.
    Column("claim", String(36), nullable=True, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_log", "agency_id", "created_at", "id"),
)

pending_proposals = Table(
    "pending_proposals", metadata,
    Column("match_id", String(64), primary_key=True),
    Column("referral_id", String(64), nullable=False),
    Column("referrer_agency_id", String(64), nullable=False),
    Column("mentor_agency_id", String(64), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("proposed_at", UTCDateTime, nullable=False),
    Column("escalated_at", UTCDateTime, nullable=True),
)

# Agencies that received a participant's handoff: they hear when that consent ends.
handoffs = Table(
    "handoffs", metadata,
    Column("participant_id", String(64), primary_key=True),
    Column("agency_id", String(64), primary_key=True),
    Column("recorded_at", UTCDateTime, nullable=False),
)

# Consent endings, kept so a handoff heard after its consent's end still tells the agency:
# the two events come from different services and replicas may take them in either order.
# The event as it arrived (ids and codes only: the catalog's consent payloads hold nothing else).
consent_endings = Table(
    "consent_endings", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("participant_id", String(64), nullable=False, index=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("event", JSON, nullable=False),
)

# Agencies' FHIR Subscriptions (domain/subscriptions.py); the endpoint sealed like a webhook URL.
fhir_subscriptions = Table(
    SUBSCRIPTIONS, metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("heartbeat_seconds", Integer, nullable=True),
    Column("events_since_start", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_heartbeat_at", UTCDateTime, nullable=True),
    Column("reason", String(64), nullable=True),
)
