"""Registering and changing mentors, and listing them. No nameko here.

A new mentor, or more places, serves the waitlist; a change that makes a mentor no longer fit
an open proposal hands the proposal on to the next-best mentor.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.kit.creations import CreatedMeanwhile, earlier_object, record_creation
from services.kit.errors import Conflict, InvalidRequest
from services.kit.pages import write_cursor
from services.matching.domain import Mentor, exclusion_reasons
from services.matching.domain.commands import CreateMentor, ListMentors, UpdateMentor
from services.matching.domain.encoding import MAX_TAGS
from services.matching.domain.match import PROPOSED
from services.matching.domain.policy import MatchingPolicy
from services.matching.handlers.access import own_mentor, readable_agency, require_coordinator
from services.matching.handlers.matchmaker import Matchmaker

MENTOR_UNAVAILABLE = "mentor_unavailable"


def create_mentor(command: CreateMentor, uow, policy: MatchingPolicy, now: datetime) -> dict[str, Any]:
    """Register a mentor of the caller's peer group; waiting referrals that fit get proposed.

    ``Forbidden`` unless a coordinator; ``InvalidRequest`` for details the domain refuses or a
    vocabulary the registry cannot hold. With an Idempotency-Key (``command.creation``) one
    mentor is registered per key: a repeat answers the mentor the key registered, as it is now,
    and a key used with another request is a ``Conflict``.
    """
    caller = command.caller
    require_coordinator(caller)
    mentor = _mentor({**command.details, "id": str(uuid.uuid4()), "agency_id": caller.agency_id,
                      "agency_kind": caller.kind, "active": True, "caseload": 0})
    try:
        with uow:
            earlier = earlier_object(uow, command.creation)
            if earlier is not None:
                return own_mentor(caller, uow, earlier).view()
            record_creation(uow, command.creation, mentor.id, now)
            _check_vocabulary(uow, mentor)
            uow.mentors.add(mentor, now)
            Matchmaker(uow, policy, now).fill_waitlist()
            view = uow.mentors.get(mentor.id).view()
            uow.commit()
    except CreatedMeanwhile:
        with uow:
            return own_mentor(caller, uow, earlier_object(uow, command.creation)).view()
    return view


def update_mentor(command: UpdateMentor, uow, policy: MatchingPolicy, now: datetime) -> dict[str, Any]:
    """Change a mentor. Proposals the mentor no longer fits move to the next best; more
    capacity or a reactivation serves the waitlist.

    ``NotFound`` for another agency's mentor; ``Conflict`` if capacity would drop below the
    caseload; ``InvalidRequest`` as for ``create_mentor``.
    """
    with uow:
        found = own_mentor(command.caller, uow, command.mentor_id)
        proposals = [m for m in uow.matches.live_of_mentor(found.id) if m.status == PROPOSED]
        # Lock order: referrals, then the mentor's row (see the adapters).
        locked = {r.id: r for r in uow.referrals.lock(m.referral_id for m in proposals)}
        mentor = _mentor({**found.mentor.to_dict(), **command.changes})
        _check_vocabulary(uow, mentor)
        if not uow.mentors.change(mentor, command.changes, now):
            raise Conflict("Capacity cannot go below the mentor's current caseload.")
        matchmaker = Matchmaker(uow, policy, now)
        unloaded = replace(mentor, caseload=0)  # places are not the question here, fit is
        for match in proposals:
            referral = locked.get(match.referral_id)
            if referral is None or not exclusion_reasons(unloaded, referral.matching_criteria(),
                                                         today=matchmaker.today):
                continue
            if matchmaker.withdraw(match, MENTOR_UNAVAILABLE):
                matchmaker.propose_next(referral)
        matchmaker.fill_waitlist()
        view = uow.mentors.get(found.id).view()
        uow.commit()
    return view


def list_mentors(query: ListMentors, uow) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the caller's agency's mentors, oldest first, and the next page's cursor (None on
    the last); ``Forbidden`` for anyone but its coordinators and its admin."""
    agency_id = readable_agency(query.caller)
    with uow:
        found = uow.mentors.of_agency(agency_id, active=query.active, after=query.after,
                                      limit=query.limit + 1)
    shown = found[:query.limit]
    more = len(found) > query.limit
    return [m.view() for m in shown], (write_cursor(shown[-1].created_at, shown[-1].id) if more else None)


def _check_vocabulary(uow, mentor: Mentor) -> None:
    """``InvalidRequest`` if this mentor would take the registry past ``MAX_TAGS`` distinct
    languages or lived-experience tags (each is one bit of a 64-bit mask in the table)."""
    languages, lived = uow.mentors.vocabulary(excluding=mentor.id)
    for field, known, mine in (("languages", languages, mentor.languages),
                               ("lived_experience", lived, mentor.lived_experience)):
        if len(known | mine) > MAX_TAGS:
            raise InvalidRequest("Too many distinct values in the network.", errors={field: [
                f"The network already uses {len(known)} distinct values; choose among them."]})


def _mentor(fields: dict[str, Any]) -> Mentor:
    try:
        return Mentor.from_dict(fields)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest("The mentor is not valid.", errors={"_schema": [str(exc)]}) from None
