"""Signing people in: accepting an invitation, enrolling TOTP, sessions and their limits.

Sign-in needs the email, the password and a current TOTP code. Every refusal says the same thing
(``SignInRefused``), whether the email is unknown, a factor is wrong or the person is locked out,
so the answer tells an attacker nothing; ``lockout_attempts`` failures in a row lock the person
out for ``lockout`` (a correct sign-in resets the count).

A session is an opaque token (``rs_<id>_<secret>``, stored as a digest). It ends when it has been
idle for ``idle``, ``absolute`` after it began, at sign-out, or when the person is deactivated:
every request checks all of these, so an ended session is refused at once.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from gateway.auth import Principal
from gateway.credentials import (
    INVITATION_PREFIX,
    SESSION_PREFIX,
    accepted_totp_step,
    email_index,
    hash_password,
    issue_token,
    new_totp_secret,
    parse_token,
    provisioning_uri,
    token_digest,
    verify_password,
)
from gateway.exceptions import SignInRefused, Unauthenticated
from gateway.people import ACTIVE, ENROLLING, INVITED, Person

_ENDED = "The session is not valid or has ended."


@dataclass(frozen=True)
class SessionRules:
    """How long sessions, invitations and lockouts last; from the gateway's config."""

    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=12)
    lockout_attempts: int = 5
    lockout: timedelta = timedelta(minutes=15)
    invitation: timedelta = timedelta(hours=72)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SessionRules:
        """``PERSON_SESSION_IDLE_MINUTES``, ``PERSON_SESSION_ABSOLUTE_HOURS``,
        ``SIGN_IN_LOCKOUT_ATTEMPTS``, ``SIGN_IN_LOCKOUT_MINUTES``, ``INVITATION_VALID_HOURS``."""
        return cls(
            idle=timedelta(minutes=float(config.get("PERSON_SESSION_IDLE_MINUTES", 15))),
            absolute=timedelta(hours=float(config.get("PERSON_SESSION_ABSOLUTE_HOURS", 12))),
            lockout_attempts=int(config.get("SIGN_IN_LOCKOUT_ATTEMPTS", 5)),
            lockout=timedelta(minutes=float(config.get("SIGN_IN_LOCKOUT_MINUTES", 15))),
            invitation=timedelta(hours=float(config.get("INVITATION_VALID_HOURS", 72))),
        )


@dataclass(frozen=True)
class PersonSession:
    id: str
    person_id: str
    digest: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def is_live(self, now: datetime, rules: SessionRules) -> bool:
        return (self.ended_at is None and now < self.expires_at
                and now < self.last_seen_at + rules.idle)


def accept_invitation(uow, pepper: bytes, now: datetime, token: str, password: str) -> dict[str, Any]:
    """Set the invited person's password and give them a TOTP secret to enrol.

    The invitation is used up. Raises ``SignInRefused`` for an unknown, used or expired one.
    """
    parsed = parse_token(token, INVITATION_PREFIX)
    if parsed is None:
        raise SignInRefused("The invitation is not valid or has expired.")
    with uow:
        person = uow.people.find_by_invitation(token_digest(INVITATION_PREFIX, *parsed, pepper))
        if person is None or person.status != INVITED or now >= person.invitation_expires_at:
            raise SignInRefused("The invitation is not valid or has expired.")
        secret = new_totp_secret()
        uow.people.save(replace(person, status=ENROLLING, password_hash=hash_password(password),
                                totp_secret=secret, invitation_digest=None))
        uow.commit()
    return {"person_id": person.id, "totp_secret": secret,
            "provisioning_uri": provisioning_uri(secret, person.email)}


def confirm_enrolment(uow, pepper: bytes, rules: SessionRules, now: datetime,
                      body: dict[str, Any]) -> dict[str, Any]:
    """Activate an enrolling person who proves their password and a first TOTP code."""
    with uow:
        person = _proven(uow, pepper, rules, now, body, ENROLLING)
        uow.people.save(replace(person, status=ACTIVE))
        uow.commit()
    return person.shown() | {"status": ACTIVE}


def sign_in(uow, pepper: bytes, rules: SessionRules, now: datetime, body: dict[str, Any]) -> dict[str, Any]:
    """A new session for an active person who proves both factors; ``SignInRefused`` otherwise."""
    issued = issue_token(SESSION_PREFIX, pepper)
    with uow:
        person = _proven(uow, pepper, rules, now, body, ACTIVE)
        session = PersonSession(issued.token_id, person.id, issued.digest, now, now, now + rules.absolute)
        uow.people.add_session(session)
        uow.commit()
    return {"token": issued.token, **_described(session, person, rules)}


def _proven(uow, pepper: bytes, rules: SessionRules, now: datetime, body: dict[str, Any],
            status: str) -> Person:
    """The person in ``status`` whose email, password and TOTP code all check out.

    A wrong factor counts towards the lockout (committed here); every refusal is ``SignInRefused``.
    """
    person = uow.people.find_by_email(email_index(body["email"], pepper))
    password_ok = verify_password(person.password_hash if person else None, body["password"])
    if person is None or person.status != status or (person.locked_until and now < person.locked_until):
        raise SignInRefused()
    step = accepted_totp_step(person.totp_secret, body["code"], now, person.totp_last_step) \
        if password_ok else None
    # The step is claimed atomically, so one code never opens two sessions.
    if step is None or not uow.people.claim_totp_step(person.id, step):
        uow.people.count_failed_sign_in(person.id, now, rules.lockout_attempts, rules.lockout)
        uow.commit()
        raise SignInRefused()
    uow.people.clear_failed_sign_ins(person.id)
    return replace(person, totp_last_step=step, failed_sign_ins=0, locked_until=None)


def principal_of(uow, pepper: bytes, rules: SessionRules, now: datetime, token: str) -> Principal:
    """The person behind a session token, acting with their roles in their agency.

    Marks the session used (its idle time starts again). Raises ``Unauthenticated`` for a token
    that is unknown, wrong, ended, idle or past its absolute limit, or whose person or agency is
    not active.
    """
    session, person, agency = _live_session(uow, pepper, rules, now, token, touch=True)
    return Principal(agency.id, agency.kind, frozenset(person.roles) & agency.roles,
                     actor=f"person:{person.id}")


def describe(uow, pepper: bytes, rules: SessionRules, now: datetime, token: str) -> dict[str, Any]:
    """Who the session is and when it ends (``Unauthenticated`` as ``principal_of``)."""
    session, person, _ = _live_session(uow, pepper, rules, now, token, touch=False)
    return _described(session, person, rules)


def sign_out(uow, pepper: bytes, rules: SessionRules, now: datetime, token: str) -> None:
    """End the session of ``token`` (``Unauthenticated`` if it is not a live session)."""
    session, _, _ = _live_session(uow, pepper, rules, now, token, touch=False)
    with uow:
        uow.people.end_session(session.id, now)
        uow.commit()


def _live_session(uow, pepper: bytes, rules: SessionRules, now: datetime, token: str, *, touch: bool):
    parsed = parse_token(token, SESSION_PREFIX)
    if parsed is None:
        raise Unauthenticated(_ENDED)
    session_id, secret = parsed
    with uow:
        found = uow.people.find_session(session_id)
        expected = found[0].digest if found else token_digest(SESSION_PREFIX, "0" * 16, "", pepper)
        matches = hmac.compare_digest(token_digest(SESSION_PREFIX, session_id, secret, pepper), expected)
        if found is None or not matches:
            raise Unauthenticated(_ENDED)
        session, person, agency = found
        if not session.is_live(now, rules) or person.status != ACTIVE or not agency.active:
            raise Unauthenticated(_ENDED)
        if touch:
            uow.people.touch_session(session.id, now)
            uow.commit()
    return session, person, agency


def _described(session: PersonSession, person: Person, rules: SessionRules) -> dict[str, Any]:
    idle_ends = min(session.last_seen_at + rules.idle, session.expires_at)
    return {"person_id": person.id, "agency_id": person.agency_id, "roles": sorted(person.roles),
            "expires_at": session.expires_at, "idle_expires_at": idle_ends}
