"""The contact log and the peer group's view of an engagement."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.engagement.domain.commands import LogContact, ReadEngagement
from services.engagement.domain.model import ContactEntry, Engagement
from services.engagement.handlers import assessments
from services.engagement.handlers.changes import own_engagement, retried, save
from services.kit.creations import CreatedMeanwhile, earlier_object, record_creation
from services.kit.errors import InvalidRequest


def log_contact(command: LogContact, uow, now: datetime) -> dict[str, Any]:
    """Record a contact; a successful one may set the time to first contact. Another agency's
    referral is ``NotFound``; an ended engagement ``Conflict``; a contact in the future is invalid."""
    agency_id = command.caller.agency_id
    if command.contacted_at > now:
        raise InvalidRequest("A contact cannot be in the future.",
                             errors={"contacted_at": ["Must not be in the future."]})
    def attempt() -> dict[str, Any]:
        with uow:
            earlier = earlier_object(uow, command.creation)
            if earlier is not None:
                return uow.engagements.get_contact(agency_id, earlier).view()
            engagement = own_engagement(uow, agency_id, command.referral_id)
            entry = ContactEntry(
                id=str(uuid.uuid4()), agency_id=agency_id, referral_id=command.referral_id,
                contacted_at=command.contacted_at, mode=command.mode, outcome=command.outcome,
                duration_minutes=command.duration_minutes, note=command.note,
                recorded_by=command.caller.actor, recorded_at=now)
            engagement.record_contact(entry)
            uow.engagements.add_contact(entry)
            save(uow, engagement)
            record_creation(uow, command.creation, entry.id, now)
            uow.commit()
        return entry.view()

    try:
        return retried(attempt)
    except CreatedMeanwhile:
        with uow:
            return uow.engagements.get_contact(agency_id, earlier_object(uow, command.creation)).view()


def read_engagement(query: ReadEngagement, uow) -> dict[str, Any]:
    agency_id = query.caller.agency_id
    with uow:
        engagement = own_engagement(uow, agency_id, query.referral_id)
        repo = uow.engagements
        view = engagement_view(engagement, [c.view() for c in repo.contacts(agency_id, query.referral_id)],
                               repo.answers(agency_id, query.referral_id),
                               repo.messages(agency_id, query.referral_id),
                               repo.crises_of(agency_id, query.referral_id))
        view["assessments"] = assessments.view(repo.assessments_of(agency_id, query.referral_id))
        return view


def engagement_view(e: Engagement, contacts: list, answers: list, messages: list,
                    crises: list) -> dict[str, Any]:
    ttfc = e.time_to_first_contact
    return {
        "referral_id": e.referral_id, "status": e.status, "ended_reason": e.ended_reason,
        "language": e.language,
        "reachable_by": [name for name, value in (("sms", e.phone), ("email", e.email)) if value],
        "started_at": e.started_at, "first_contact_at": e.first_contact_at,
        "time_to_first_contact_seconds": None if ttfc is None else int(ttfc.total_seconds()),
        "last_contact_at": e.last_contact_at, "last_answer_at": e.last_answer_at,
        "silence_level": e.silence_level,
        "checkins": {"status": e.checkins, "opt_in_method": e.opt_in_method, "channel": e.channel,
                     "cadence_days": e.cadence_days, "contact_window": e.window.to_record(),
                     "next_checkin_at": e.next_checkin_at},
        "contacts": contacts, "answers": answers, "messages": messages, "crises": crises,
    }
