"""People: the staff of an agency who sign in with their own password and second factor.

An agency's admin invites a person (name, email, roles); the invitation is a one-time token, shown
once and stored as a digest, that expires. The person accepts it with a password, enrols a TOTP
authenticator, and is active once they prove it with a first code (``gateway.sessions``).

A person's roles are always roles their agency holds and that fit its kind, so a person can never
do more than their agency's own key. Deactivating a person ends all their sessions at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from gateway.auth import Principal
from gateway.credentials import INVITATION_PREFIX, email_index, issue_token
from gateway.policy import roles_unfit_for_kind
from services.kit.errors import Conflict, InvalidRequest, NotFound
from services.kit.vocabulary import FUNDER, OPERATOR

INVITED, ENROLLING, ACTIVE, DEACTIVATED = "invited", "enrolling", "active", "deactivated"


@dataclass
class Person:
    id: str
    agency_id: str
    name: str
    email: str
    roles: list[str]
    status: str
    created_at: datetime
    email_index: str = ""
    invitation_digest: str | None = None
    invitation_expires_at: datetime | None = None
    password_hash: str | None = None
    totp_secret: str | None = None
    totp_last_step: int | None = None
    failed_sign_ins: int = 0
    locked_until: datetime | None = None

    @property
    def has_enrolled(self) -> bool:
        """Whether the person ever proved both factors (only then may they be reactivated)."""
        return self.password_hash is not None and self.totp_last_step is not None

    def shown(self) -> dict[str, Any]:
        """What an agency admin sees of the person (never a hash, secret or token)."""
        return {"id": self.id, "agency_id": self.agency_id, "name": self.name, "email": self.email,
                "roles": sorted(self.roles), "status": self.status, "created_at": self.created_at}


@dataclass(frozen=True)
class Agency:
    id: str
    kind: str
    roles: frozenset[str] = field(default_factory=frozenset)
    active: bool = True  # a deactivated agency's people are refused, their sessions included


def _own_agency(uow, caller: Principal, agency_id: str) -> Agency:
    """The caller's agency when ``agency_id`` is it; another agency's staff answer 404.

    A funder holds no admin role, so the operator manages a funder's people (who can hold only
    the ``funder`` role) as it manages its own.
    """
    agency = uow.people.agency(agency_id) if caller.agency_id == agency_id else None
    if agency is None and caller.kind == OPERATOR and OPERATOR in caller.roles:
        other = uow.people.agency(agency_id)
        agency = other if other is not None and other.kind == FUNDER else None
    if agency is None:
        raise NotFound("No such agency.")
    return agency


def _check_roles(agency: Agency, roles: list[str]) -> None:
    unfit = roles_unfit_for_kind(roles, agency.kind)
    beyond = sorted(set(roles) - agency.roles - set(unfit))
    messages = [f"A {agency.kind} agency cannot have the role {role}." for role in unfit]
    messages += [f"The agency does not hold the role {role}." for role in beyond]
    if messages:
        raise InvalidRequest("A person's roles must be roles their agency holds.", errors={"roles": messages})


def invite_person(uow, pepper: bytes, now: datetime, valid_for: timedelta, caller: Principal,
                  agency_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Add an invited person to the caller's own agency; returns them with the invitation token.

    Raises ``NotFound`` for another agency, ``InvalidRequest`` for roles the agency does not hold,
    ``Conflict`` when the email already belongs to someone in the network.
    """
    invitation = issue_token(INVITATION_PREFIX, pepper)
    with uow:
        agency = _own_agency(uow, caller, agency_id)
        _check_roles(agency, body["roles"])
        index = email_index(body["email"], pepper)
        if uow.people.find_by_email(index) is not None:
            raise Conflict("A person with this email is already registered.")
        person = Person(id=uow.people.new_id(), agency_id=agency.id, name=body["name"],
                        email=body["email"].strip(), roles=sorted(set(body["roles"])), status=INVITED,
                        created_at=now, email_index=index, invitation_digest=invitation.digest,
                        invitation_expires_at=now + valid_for)
        uow.people.add(person)
        try:
            uow.commit()
        except IntegrityError as exc:  # the same email, invited at the same moment
            raise Conflict("A person with this email is already registered.") from exc
    return {**person.shown(), "invitation_token": invitation.token,
            "invitation_expires_at": person.invitation_expires_at}


def reinvite_person(uow, pepper: bytes, now: datetime, valid_for: timedelta, caller: Principal,
                    agency_id: str, person_id: str) -> dict[str, Any]:
    """A new invitation for someone who has not finished enrolling (a lost or expired one).

    Any earlier invitation, password and TOTP secret of theirs stop working. Raises ``NotFound``
    for another agency's person and ``Conflict`` for someone already active or deactivated.
    """
    invitation = issue_token(INVITATION_PREFIX, pepper)
    with uow:
        agency = _own_agency(uow, caller, agency_id)
        person = uow.people.get(person_id)
        if person is None or person.agency_id != agency.id:
            raise NotFound("No such person.")
        if person.status not in (INVITED, ENROLLING):
            raise Conflict("Only a person who has not finished enrolling can be invited again.")
        person = replace(person, status=INVITED, invitation_digest=invitation.digest,
                         invitation_expires_at=now + valid_for, password_hash=None, totp_secret=None,
                         failed_sign_ins=0, locked_until=None)
        uow.people.save(person)
        uow.commit()
    return {**person.shown(), "invitation_token": invitation.token,
            "invitation_expires_at": person.invitation_expires_at}


def list_people(uow, caller: Principal, agency_id: str, page: str | None, size: int) -> dict[str, Any]:
    """One page of the agency's people in the order they were invited. ``NotFound`` for another agency."""
    with uow:
        _own_agency(uow, caller, agency_id)
        people = uow.people.page(agency_id, after=page, limit=size + 1)
    return {"items": [person.shown() for person in people[:size]],
            "next_page": people[size - 1].id if len(people) > size else None}


def update_person(uow, now: datetime, caller: Principal, agency_id: str, person_id: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    """Change a person's roles or status; deactivating ends every session of theirs at once.

    Raises ``NotFound`` for another agency's person, ``InvalidRequest`` for unfit roles, and
    ``Conflict`` when reactivating someone who never finished enrolling.
    """
    with uow:
        agency = _own_agency(uow, caller, agency_id)
        person = uow.people.get(person_id)
        if person is None or person.agency_id != agency.id:
            raise NotFound("No such person.")
        if "roles" in body:
            _check_roles(agency, body["roles"])
            person = replace(person, roles=sorted(set(body["roles"])))
        status = body.get("status")
        if status == DEACTIVATED and person.status != DEACTIVATED:
            person = replace(person, status=DEACTIVATED, invitation_digest=None)
            uow.people.end_sessions_of(person.id, now)
        elif status == ACTIVE and person.status != ACTIVE:
            if person.status != DEACTIVATED or not person.has_enrolled:
                raise Conflict("Only a person who finished enrolling can be reactivated.")
            person = replace(person, status=ACTIVE, failed_sign_ins=0, locked_until=None)
        uow.people.save(person)
        uow.commit()
    return person.shown()


def end_agency_sessions(uow, agency_id: str, now: datetime) -> int:
    """End every session of every person of the agency (call when the agency is deactivated).

    Runs inside the caller's unit of work, which commits; returns how many sessions ended.
    """
    return uow.people.end_sessions_of_agency(agency_id, now)
