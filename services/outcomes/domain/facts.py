"""What the outcomes service keeps of each event it consumes: ids, codes and timestamps only.

``fact_of(event)`` turns a consumed event into one row of the append-only event log. It copies a
whitelist of fields per type (never a payload as a whole), so nothing an event may carry beyond
ids and codes ever reaches the reporting database. The participant id is kept only as a digest
(``participant_ref``): counting distinct people needs no more, and the digest is never reported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Every event type the read model is built from.
CONSUMED = (
    "referral.requested", "referral.status_changed", "referral.refused",
    "match.proposed", "match.accepted", "match.waitlisted",
    "consent.revoked", "consent.expired",
    "engagement.contact_logged", "engagement.checkin_answered", "engagement.assessment_completed",
)

# Payload fields copied into the log, per type (codes, agency and object ids; no free text).
KEPT: dict[str, tuple[str, ...]] = {
    "referral.requested": ("referrer_agency_id", "urgency"),
    "referral.status_changed": ("referrer_agency_id", "assigned_agency_id", "urgency", "from_status",
                                "to_status", "reason_code"),
    "referral.refused": ("referrer_agency_id", "urgency", "reason_code"),
    "match.proposed": ("mentor_id", "mentor_agency_id", "urgency"),
    "match.accepted": ("mentor_id", "mentor_agency_id", "urgency"),
    "match.waitlisted": ("referrer_agency_id", "urgency", "reason_code"),
    "consent.revoked": ("full",),
    "consent.expired": (),
    "engagement.contact_logged": ("agency_id", "outcome", "first_contact"),
    "engagement.checkin_answered": ("agency_id", "kind"),
    "engagement.assessment_completed": ("agency_id", "due", "total"),
}

_REF_SALT = b"referral-network/outcomes/participant:"


def participant_ref(participant_id: str | None) -> str | None:
    """A stable digest standing for a participant in counts of distinct people."""
    if not participant_id:
        return None
    return hashlib.sha256(_REF_SALT + str(participant_id).encode()).hexdigest()[:32]


def _language(tag: str | None) -> str | None:
    """The first language a request named, as the read model keeps it (at most 16 characters)."""
    return str(tag)[:16] if tag else None


@dataclass(frozen=True)
class Fact:
    """One row of the event log."""

    event_id: str
    type: str
    version: int
    occurred_at: datetime
    source: str
    referral_id: str | None
    consent_id: str | None
    participant_ref: str | None
    facts: dict[str, Any] = field(default_factory=dict)


def fact_of(event) -> Fact:
    """The log row of a consumed ``Event`` (its payload already upcast to the current version)."""
    payload = event.payload
    kept = {name: payload.get(name) for name in KEPT[event.type]}
    if event.type == "referral.requested":
        languages = (payload.get("criteria") or {}).get("languages") or []
        kept["language"] = _language(languages[0] if languages else None)
    elif event.type == "referral.refused":
        kept["language"] = _language(payload.get("language"))
    return Fact(
        event_id=event.id, type=event.type, version=event.version, occurred_at=event.occurred_at,
        source=event.source, referral_id=payload.get("referral_id"), consent_id=payload.get("consent_id"),
        participant_ref=participant_ref(payload.get("participant_id")), facts=kept)
