"""The event router: from each subscribed event to the deliveries it gives rise to.

Runs inside the kit's inbox (``uow.handle``), which commits the planned deliveries with the
event id, so a redelivered event plans nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from services.kit.contract import Event
from services.notifications.domain.message import Message, message_for
from services.notifications.domain.planning import plan_deliveries
from services.notifications.domain.routing import PROPOSAL_CLOSERS, PendingProposal, recipients
from services.notifications.handlers import subscriptions

CONSENT_ENDED = ("consent.revoked", "consent.expired")


def notify(event: Event, uow, now: datetime) -> int:
    """Plan the deliveries ``event`` gives rise to; returns how many are new.

    Keeps the records routing needs (handoffs, urgent proposals awaiting an answer).
    An agency without settings hears nothing. Raises ``UnsafeMessage`` when a
    whitelisted field does not hold an id or code: the kit parks such an event.
    """
    _track(event, uow, now)
    handoff_agencies = (uow.handoffs.agencies_of(event.payload["participant_id"])
                        if event.type in CONSENT_ENDED else ())
    planned = sum(plan_for(uow, message_for(event, r.kind), r.agency_id, now)
                  for r in recipients(event, handoff_agencies))
    if event.type == "referral.status_changed":
        # The referrer's FHIR Subscriptions hear of every status change of its Tasks.
        planned += subscriptions.on_status_changed(event, uow, now)
    return planned


def plan_for(uow, message: Message, agency_id: str, now: datetime) -> int:
    """Store the deliveries of ``message`` to one agency, by its settings; returns how many are new."""
    settings = uow.settings.settings_of(agency_id)
    if settings is None:
        return 0
    return sum(uow.deliveries.add(d, message, now) for d in plan_deliveries(message, settings, now))


def _track(event: Event, uow, now: datetime) -> None:
    payload = event.payload
    if event.type == "referral.status_changed":
        if payload["to_status"] == "accepted" and payload.get("assigned_agency_id"):
            uow.handoffs.remember(payload["participant_id"], payload["assigned_agency_id"], now)
    elif event.type == "match.proposed":
        if payload["urgency"] == "urgent":
            uow.pending_proposals.add(PendingProposal.from_event(event))
    elif event.type in PROPOSAL_CLOSERS:
        uow.pending_proposals.remove(payload["match_id"])
