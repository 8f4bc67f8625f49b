"""Object-level checks: a mentor or a match of another agency answers ``NotFound``, exactly
like an unknown id (OWASP API1); only a peer group's coordinators manage mentors and matches."""

from __future__ import annotations

from services.kit.errors import Forbidden, NotFound
from services.kit.messages import Caller
from services.matching.domain.match import Match
from services.matching.domain.registered import RegisteredMentor


def require_coordinator(caller: Caller) -> None:
    """Raises ``Forbidden`` unless the caller is a peer group's coordinator."""
    if not caller.is_coordinator:
        raise Forbidden("Only a peer group's coordinators manage mentors and matches.")


def readable_agency(caller: Caller) -> str:
    """Whose objects the caller lists: always its own agency's (an agency's administrator reads
    its own agency's, never another's). Raises ``Forbidden`` for anyone else."""
    if not caller.is_admin:
        require_coordinator(caller)
    return caller.agency_id


def own_mentor(caller: Caller, uow, mentor_id: str) -> RegisteredMentor:
    """The caller's agency's mentor; ``Forbidden`` for a non-coordinator, ``NotFound`` if unknown
    or another agency's."""
    require_coordinator(caller)
    found = uow.mentors.get(mentor_id)
    if found is None or found.agency_id != caller.agency_id:
        raise NotFound("No such mentor.")
    return found


def own_match(caller: Caller, uow, match_id: str) -> Match:
    """A match of the caller's agency's mentors; ``Forbidden`` for a non-coordinator,
    ``NotFound`` if unknown or another agency's."""
    require_coordinator(caller)
    match = uow.matches.get(match_id)
    if match is None or match.mentor_agency_id != caller.agency_id:
        raise NotFound("No such match.")
    return match
