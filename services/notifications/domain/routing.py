"""Who hears what: from an event to the agencies that should be told, and about what.

- the mentor's agency hears of a proposed match;
- the referring agency hears of every status change of its referral and of a waitlist;
- agencies that received a handoff hear that the participant's consent ended for them;
- a peer group hears that one of its mentors' certification expires soon;
- network admins hear of urgent proposals that nobody accepted in time (``due_escalations``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from services.kit.contract import Event
from services.notifications.domain import message as m

DEFAULT_ESCALATION_AFTER = timedelta(minutes=30)
# Match statuses that end a proposal's wait: it was answered, or it is moot.
PROPOSAL_CLOSERS = ("match.accepted", "match.declined", "match.expired", "match.withdrawn")
_ESCALATION_NAMESPACE = uuid.UUID("0e6b6f0a-4c3f-4f7e-8a35-2d1f7c9b5a10")
# Handoffs only ever go to the accepted mentor's agency, which is a peer group.
_HANDOFF_KIND = "peer_group"

# Events whose recipient is named in the payload: type -> (payload field, message kind).
_DIRECT = {
    "match.proposed": ("mentor_agency_id", m.MATCH_PROPOSED),
    "match.waitlisted": ("referrer_agency_id", m.MATCH_WAITLISTED),
    "referral.status_changed": ("referrer_agency_id", m.REFERRAL_STATUS_CHANGED),
    "mentor.certification_expiring": ("agency_id", m.MENTOR_CERTIFICATION_EXPIRING),
}


class Recipient(NamedTuple):
    agency_id: str
    kind: str  # a message kind from ``message.MESSAGE_KINDS``


def recipients(event: Event, handoff_agencies: Collection[str] = ()) -> list[Recipient]:
    """The agencies to notify of ``event``, each with the kind of message they get.

    ``handoff_agencies`` are the agencies that received a handoff for the event's
    participant; the caller knows them (from its own records of referral status
    changes) and only needs to pass them for consent events. Events nobody needs to
    hear of give an empty list.
    """
    if event.type in _DIRECT:
        field, kind = _DIRECT[event.type]
        agency = event.payload.get(field)
        return [Recipient(agency, kind)] if agency else []
    if event.type == "consent.expired":
        return [Recipient(a, m.CONSENT_EXPIRED) for a in sorted(set(handoff_agencies))]
    if event.type == "consent.revoked":
        ended = [a for a in sorted(set(handoff_agencies)) if _revoked_for(event.payload, a)]
        return [Recipient(a, m.CONSENT_REVOKED) for a in ended]
    return []


def _revoked_for(payload: dict, agency_id: str) -> bool:
    """Whether a (possibly partial) revocation takes the consent away from this agency."""
    if payload.get("full"):
        return True
    revoked, remaining = payload.get("revoked") or {}, payload.get("remaining") or {}
    lost = agency_id in revoked.get("agencies", ()) or _HANDOFF_KIND in revoked.get("classes", ())
    kept = (agency_id in remaining.get("agencies", ())
            or _HANDOFF_KIND in remaining.get("classes", ()))
    return lost and not kept


@dataclass(frozen=True)
class PendingProposal:
    """An urgent proposal waiting for the mentor's agency to answer."""

    match_id: str
    referral_id: str
    referrer_agency_id: str
    mentor_agency_id: str
    urgency: str
    proposed_at: datetime

    @classmethod
    def from_event(cls, event: Event) -> PendingProposal:
        """From a ``match.proposed`` event; keep it until a ``PROPOSAL_CLOSERS`` event."""
        p = event.payload
        return cls(p["match_id"], p["referral_id"], p["referrer_agency_id"],
                   p["mentor_agency_id"], p["urgency"], event.occurred_at)


@dataclass(frozen=True)
class Escalation:
    proposal: PendingProposal
    recipient: Recipient

    @property
    def message(self) -> m.Message:
        """The urgent message for network admins; its id is the same for every admin and
        every run, so the delivery key stops a second escalation of one proposal."""
        p = self.proposal
        message_id = str(uuid.uuid5(_ESCALATION_NAMESPACE, p.match_id))
        return m.build_message(
            message_id, m.REFERRAL_ESCALATED, p.proposed_at,
            {"match_id": p.match_id, "referral_id": p.referral_id,
             "referrer_agency_id": p.referrer_agency_id, "mentor_agency_id": p.mentor_agency_id,
             "urgency": p.urgency, "proposed_at": p.proposed_at.isoformat()},
            urgency="urgent",
        )


def due_escalations(
    pending: Iterable[PendingProposal],
    now: datetime,
    network_admins: Iterable[str],
    after: timedelta = DEFAULT_ESCALATION_AFTER,
) -> list[Escalation]:
    """Escalations due at ``now``: urgent proposals unanswered for at least ``after``,
    one per network-admin agency. Routine proposals never escalate."""
    admins = sorted(set(network_admins))
    return [
        Escalation(p, Recipient(admin, m.REFERRAL_ESCALATED))
        for p in sorted(pending, key=lambda p: (p.proposed_at, p.match_id))
        if p.urgency == "urgent" and now - p.proposed_at >= after
        for admin in admins
    ]
