"""The escalation timer: network admins hear of urgent proposals nobody answered in time."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.notifications.domain.routing import due_escalations
from services.notifications.handlers.events import plan_for


def escalate(uow, now: datetime, after: timedelta) -> int:
    """Plan messages to network admins about urgent proposals unanswered for ``after``.

    Opens and commits its own unit of work; returns how many deliveries were planned. Each
    proposal escalates once: it is marked, and its message id is the same on every run.
    """
    with uow:
        escalations = due_escalations(uow.pending_proposals.unescalated(), now,
                                      uow.settings.network_admins(), after)
        planned = sum(plan_for(uow, e.message, e.recipient.agency_id, now) for e in escalations)
        uow.pending_proposals.mark_escalated({e.proposal.match_id for e in escalations}, now)
        uow.commit()
    return planned
