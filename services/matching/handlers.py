"""One function per RPC command and query of the matching service. No nameko here.

Handlers run inside the unit of work the service opened and never commit; raising rolls back
everything, staged events included. Object-level checks live here: a mentor or a match of
another agency answers ``NotFound``, exactly like an unknown id (OWASP API1).
The reactions to other services' events and the timers are in ``event_handlers``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from services.kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.matching.adapters.mentors import MentorRepository, mentor_from_row, mentor_values
from services.matching.adapters.repository import MatchingRepository, criteria_of
from services.matching.domain import Mentor, exclusion_reasons
from services.matching.domain.encoding import MAX_TAGS
from services.matching.matchmaker import MatchingPolicy, Matchmaker
from services.matching.rebalance import rebalance as rebalance_matches
from services.matching.registry_cache import CachedRegistry

PEER_GROUP, COORDINATOR, ADMIN = "peer_group", "coordinator", "admin"
MENTOR_UNAVAILABLE = "mentor_unavailable"
DECLINE_STATED = "stated"  # the words a coordinator wrote are not kept, only that there were some


@dataclass(frozen=True)
class Caller:
    """The authenticated agency, as the gateway describes it."""

    agency_id: str
    kind: str
    roles: frozenset[str]

    @property
    def coordinator(self) -> bool:
        return self.kind == PEER_GROUP and COORDINATOR in self.roles


def _manager(caller: Caller) -> None:
    if not caller.coordinator:
        raise Forbidden("Only a peer group's coordinators manage mentors and matches.")


def _readable_agency(caller: Caller) -> str | None:
    """Whose objects the caller lists: all for an administrator, else its own agency's."""
    if ADMIN in caller.roles:
        return None
    _manager(caller)
    return caller.agency_id


def mentor_view(row: Row) -> dict[str, Any]:
    view = {k: v for k, v in row._mapping.items() if k not in ("lat", "lon", "agency_kind")}
    view["location"] = None if row.lat is None else {"lat": row.lat, "lon": row.lon}
    return view


def match_view(row: Row) -> dict[str, Any]:
    return dict(row._mapping)


# -- mentors ----------------------------------------------------------------------------------

def create_mentor(caller: Caller, fields: dict[str, Any], uow, policy: MatchingPolicy,
                  now: datetime) -> dict[str, Any]:
    """Register a mentor of the caller's peer group; waiting referrals that fit get proposed."""
    _manager(caller)
    mentor = _mentor({**fields, "id": str(uuid.uuid4()), "agency_id": caller.agency_id,
                      "agency_kind": caller.kind, "active": True, "caseload": 0})
    registry = MentorRepository(uow.session)
    _check_vocabulary(registry, mentor)
    registry.add({**mentor_values(mentor), "caseload": 0, "created_at": now, "updated_at": now})
    Matchmaker(uow, policy, now).fill_waitlist()
    return mentor_view(registry.mentor(mentor.id))


def update_mentor(caller: Caller, mentor_id: str, changes: dict[str, Any], uow,
                  policy: MatchingPolicy, now: datetime) -> dict[str, Any]:
    """Change a mentor. Proposals the mentor no longer fits move to the next best; more
    capacity or a reactivation serves the waitlist. ``Conflict`` if capacity < caseload."""
    _manager(caller)
    repo, registry = MatchingRepository(uow.session), MentorRepository(uow.session)
    row = registry.mentor(mentor_id)
    if row is None or row.agency_id != caller.agency_id:
        raise NotFound("No such mentor.")
    proposals = [m for m in repo.live_matches_of_mentor(mentor_id) if m.status == "proposed"]
    # Lock order: referrals, then the mentor's row (see the repository).
    locked = {r.id: r for r in repo.lock_referrals(m.referral_id for m in proposals)}
    mentor = _mentor({**mentor_from_row(row).to_dict(), **changes})
    _check_vocabulary(registry, mentor)
    columns = mentor_values(mentor)
    values = {k: columns[k] for k in columns if k in changes or k in ("lat", "lon")}
    if not registry.change_mentor(mentor_id, {**values, "updated_at": now}):
        raise Conflict("Capacity cannot go below the mentor's current caseload.")
    matchmaker = Matchmaker(uow, policy, now)
    unloaded = replace(mentor, caseload=0)  # places are not the question here, fit is
    for match in proposals:
        referral = locked.get(match.referral_id)
        if referral is None or not exclusion_reasons(unloaded, criteria_of(referral),
                                                     today=matchmaker.today):
            continue
        if matchmaker.withdraw(match, MENTOR_UNAVAILABLE):
            matchmaker.propose_next(referral)
    matchmaker.fill_waitlist()
    return mentor_view(registry.mentor(mentor_id))


def list_mentors(caller: Caller, uow) -> list[dict[str, Any]]:
    """The caller's agency's mentors (every mentor for an administrator)."""
    registry = MentorRepository(uow.session)
    return [mentor_view(row) for row in registry.mentors_of(_readable_agency(caller))]


def _check_vocabulary(registry: MentorRepository, mentor: Mentor) -> None:
    """``InvalidRequest`` if this mentor would take the registry past ``MAX_TAGS`` distinct
    languages or lived-experience tags (each is one bit of a 64-bit mask in the table)."""
    languages, lived = registry.vocabulary(excluding=mentor.id)
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


# -- matches ----------------------------------------------------------------------------------

def list_matches(caller: Caller, status: str | None, uow) -> list[dict[str, Any]]:
    """Matches of the caller's mentors (all for an administrator), newest first."""
    repo = MatchingRepository(uow.session)
    return [match_view(row) for row in repo.matches_of(_readable_agency(caller), status)]


def accept(caller: Caller, match_id: str, uow, policy: MatchingPolicy,
           now: datetime) -> dict[str, Any]:
    """Accept a proposal: the mentor takes one place, atomically.

    ``Conflict`` when the proposal was decided, expired or withdrawn, or when the mentor has no
    place left (the database decides, so concurrent accepts never exceed capacity). Accepting
    an accepted match again answers it unchanged.
    """
    repo, match = _own_match(caller, match_id, uow)
    if match.status == "accepted":
        return match_view(match)
    referral = repo.lock_referral(match.referral_id)
    if referral is None or not repo.move_match(match_id, "proposed", "accepted", now, open_at=now):
        raise Conflict("This match can no longer be accepted.")
    if not MentorRepository(uow.session).take_place(match.mentor_id, now.date()):
        raise Conflict("The mentor has no place left, or takes no referrals now.")
    accepted = repo.match(match_id)
    Matchmaker(uow, policy, now).publish("match.accepted", accepted._mapping)
    return match_view(accepted)


def decline(caller: Caller, match_id: str, uow, policy: MatchingPolicy, now: datetime,
            registry: CachedRegistry | None = None) -> dict[str, Any]:
    """Decline a proposal: that mentor is never proposed for the referral again, and the
    referral moves to the next-best mentor or waits. ``Conflict`` if no longer proposed."""
    repo, match = _own_match(caller, match_id, uow)
    if match.status == "declined":
        return match_view(match)
    referral = repo.lock_referral(match.referral_id)
    if referral is None or not repo.move_match(match_id, "proposed", "declined", now,
                                               reason_code=DECLINE_STATED):
        raise Conflict("This match can no longer be declined.")
    repo.exclude(referral.id, match.mentor_id, "declined", now)
    declined = repo.match(match_id)
    matchmaker = Matchmaker(uow, policy, now, registry)
    matchmaker.publish("match.declined", declined._mapping, DECLINE_STATED)
    matchmaker.propose_next(referral)
    matchmaker.fill_waitlist()
    return match_view(declined)


def rebalance(uow, policy: MatchingPolicy, now: datetime) -> dict[str, int]:
    """The batch optimum over the waitlist and open proposals (see ``rebalance``)."""
    return rebalance_matches(Matchmaker(uow, policy, now))


def _own_match(caller: Caller, match_id: str, uow) -> tuple[MatchingRepository, Row]:
    _manager(caller)
    repo = MatchingRepository(uow.session)
    match = repo.match(match_id)
    if match is None or match.mentor_agency_id != caller.agency_id:
        raise NotFound("No such match.")
    return repo, match
