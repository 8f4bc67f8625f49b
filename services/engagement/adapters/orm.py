"""The engagement service's tables, on the kit's metadata (outbox and inbox included).

Contact details, notes, free-word answers and the on-call phones are sealed (``ENCRYPTED``):
AES-GCM tokens bound to table, column and row, and every sealed row's key begins with the peer
group's agency id, so a token is bound to that agency. ``phone_digest`` (a keyed HMAC) finds
the engagement an inbound text belongs to without a phone number in clear.

An engagement row carries a ``version``, raised by every save: a save writes only over the version
it was loaded at, so no writer (a timer above all) can put back what another saved meanwhile.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from services.kit.creations import add_creations_table
from services.kit.db import UTCDateTime, service_metadata

metadata = service_metadata()
add_creations_table(metadata)

ENCRYPTED = {
    "engagements": ("phone", "email"),
    "contacts": ("note",),
    "checkin_answers": ("word",),
    "on_call": ("ladder",),
}

engagements = Table(
    "engagements", metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("referral_id", String(64), primary_key=True),
    Column("participant_id", String(64), nullable=False),
    Column("consent_id", String(64), nullable=False, index=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("phone", Text, nullable=True),
    Column("email", Text, nullable=True),
    Column("phone_digest", String(64), nullable=True, index=True),
    Column("language", String(35), nullable=False),
    Column("status", String(16), nullable=False),
    Column("ended_reason", String(32), nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("first_contact_at", UTCDateTime, nullable=True),
    Column("last_contact_at", UTCDateTime, nullable=True),
    Column("last_answer_at", UTCDateTime, nullable=True),
    Column("checkins", String(16), nullable=False),
    Column("opt_in_method", String(16), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("cadence_days", Integer, nullable=False),
    Column("contact_window", JSON, nullable=False),
    Column("next_checkin_at", UTCDateTime, nullable=True, index=True),
    Column("silence_level", Integer, nullable=False),
    Column("version", Integer, nullable=False, server_default="0"),
    Index("ix_engagements_referral", "referral_id"),
)

contacts = Table(
    "contacts", metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("referral_id", String(64), nullable=False),
    Column("contacted_at", UTCDateTime, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("duration_minutes", Integer, nullable=True),
    Column("note", Text, nullable=True),
    Column("recorded_by", String(80), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_contacts_referral", "agency_id", "referral_id", "contacted_at"),
)

checkin_answers = Table(
    "checkin_answers", metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("referral_id", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),  # score, word, crisis
    Column("score", Integer, nullable=True),
    Column("word", Text, nullable=True),
    Index("ix_checkin_answers_referral", "agency_id", "referral_id", "received_at"),
)

# Every text the service sent or tried to send: kind and outcome, never the body or the number.
messages = Table(
    "messages", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("referral_id", String(64), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("detail", String(120), nullable=True),
    Column("sent_at", UTCDateTime, nullable=False),
    Index("ix_messages_referral", "agency_id", "referral_id", "sent_at"),
)

crises = Table(
    "crises", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(64), nullable=False, index=True),
    Column("referral_id", String(64), nullable=False),
    Column("signaled_at", UTCDateTime, nullable=False),
    Column("step", Integer, nullable=False),  # 0, 1, ...: who on the ladder was alerted last
    Column("next_escalation_at", UTCDateTime, nullable=True, index=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(80), nullable=True),
    Column("history", JSON, nullable=False),  # [{"at", "action", "step", "status"}], no numbers
)

# BARC-10 questionnaires: due at the handoff and 30, 60, 90 days on; sent as a single-use link
# whose token is kept only as a digest (and dropped once used, expired or the engagement ends).
assessments = Table(
    "assessments", metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("referral_id", String(64), nullable=False),
    Column("due", String(16), nullable=False),  # handoff, day30, day60, day90
    Column("due_at", UTCDateTime, nullable=False, index=True),
    Column("token_digest", String(64), nullable=True, unique=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("items", JSON, nullable=True),
    Column("total", Integer, nullable=True),
    Column("belonging", Integer, nullable=True),
    Index("ix_assessments_referral", "agency_id", "referral_id", "due_at"),
)

# The links of check-in emails: ``reply`` opens the one-question form once, before it expires;
# ``stop`` (the one-click unsubscribe, RFC 8058) ends every automated message while the engagement
# lasts. Only the token's SHA-256 is kept; an engagement's links go when it ends.
checkin_links = Table(
    "checkin_links", metadata,
    Column("token_digest", String(64), primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("referral_id", String(64), nullable=False),
    Column("purpose", String(8), nullable=False),  # reply, stop
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_checkin_links_referral", "agency_id", "referral_id"),
)

# The peer group's on-call ladder: coordinators in order, then the agency's admin.
on_call = Table(
    "on_call", metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("ladder", Text, nullable=False),  # sealed JSON: [{"phone", "language", "role"}]
    Column("sender_name", String(80), nullable=True),  # how the group signs its texts
    Column("updated_at", UTCDateTime, nullable=False),
)
