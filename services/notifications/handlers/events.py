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
    handoff_agencies: list[str] = []
    if event.type in CONSENT_ENDED:
        participant_id = event.payload["participant_id"]
        uow.handoffs.hold(participant_id)
        uow.handoffs.remember_ending(event)
        handoff_agencies = uow.handoffs.agencies_of(participant_id)
    planned = sum(plan_for(uow, message_for(event, r.kind), r.agency_id, now)
                  for r in recipients(event, handoff_agencies))
    if event.type == "referral.status_changed":
        # The referrer's FHIR Subscriptions hear of every status change of its Tasks.
        planned += subscriptions.on_status_changed(event, uow, now)
        planned += _endings_heard_first(event, uow, now)
    return planned


def _endings_heard_first(event: Event, uow, now: datetime) -> int:
    """Tell the agency a referral was just handed to of its consent's end, if that came first.

    The consent's end happened after the acceptance but arrived before it (another service's
    event, perhaps taken by another replica). When the events come in order this finds nothing
    new: the end already told the agency, and the delivery key keeps a second copy out.
    """
    payload = event.payload
    agency_id = payload.get("assigned_agency_id")
    if payload["to_status"] != "accepted" or not agency_id:
        return 0
    return sum(plan_for(uow, message_for(ending, r.kind), r.agency_id, now)
               for ending in uow.handoffs.endings_after(payload["participant_id"], event.occurred_at)
               for r in recipients(ending, [agency_id]))


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
            uow.handoffs.hold(payload["participant_id"])
            uow.handoffs.remember(payload["participant_id"], payload["assigned_agency_id"], now)
    elif event.type == "match.proposed":
        if payload["urgency"] == "urgent":
            uow.pending_proposals.add(PendingProposal.from_event(event))
    elif event.type in PROPOSAL_CLOSERS:
        uow.pending_proposals.remove(payload["match_id"])
