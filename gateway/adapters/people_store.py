"""The people repository: people (name, email and TOTP secret sealed) and their sessions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from gateway.adapters.orm import agencies, people, person_sessions
from gateway.people import Agency, Person
from gateway.sessions import PersonSession
from services.kit.crypto import KeyRing
from services.kit.encrypted import seal, unseal
from services.kit.errors import InvalidRequest

_SEALED = ("name", "email", "totp_secret")


class SqlPeople:
    """``uow.people``: reads and writes inside the unit of work's session; never commits."""

    def __init__(self, session: Session, ring: KeyRing) -> None:
        self.session = session
        self.ring = ring

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    # -- agencies -------------------------------------------------------------------------

    def agency(self, agency_id: str) -> Agency | None:
        row = self.session.execute(select(agencies.c.id, agencies.c.kind, agencies.c.roles)
                                   .where(agencies.c.id == agency_id)).first()
        return Agency(row.id, row.kind, frozenset(row.roles)) if row else None

    # -- people ---------------------------------------------------------------------------

    def add(self, person: Person) -> None:
        self.session.execute(insert(people).values(**self._row(person)))

    def save(self, person: Person) -> None:
        row = self._row(person)
        for fixed in ("id", "agency_id", "created_at"):
            row.pop(fixed)
        self.session.execute(update(people).where(people.c.id == person.id).values(**row))

    def get(self, person_id: str) -> Person | None:
        return self._one(people.c.id == person_id)

    def find_by_email(self, index: str) -> Person | None:
        return self._one(people.c.email_index == index)

    def find_by_invitation(self, digest: str) -> Person | None:
        return self._one(people.c.invitation_digest == digest)

    def page(self, agency_id: str, after: str | None, limit: int) -> list[Person]:
        """People of the agency by invitation time, those after the person ``after``.

        Raises ``InvalidRequest`` (field ``page``) when ``after`` is not one of them.
        """
        query = select(people).where(people.c.agency_id == agency_id)
        if after is not None:
            cursor = self.session.execute(select(people.c.created_at).where(
                people.c.id == after, people.c.agency_id == agency_id)).scalar()
            if cursor is None:
                raise InvalidRequest("The page cursor is not valid.", errors={"page": ["Unknown page."]})
            query = query.where(or_(people.c.created_at > cursor,
                                    and_(people.c.created_at == cursor, people.c.id > after)))
        rows = self.session.execute(query.order_by(people.c.created_at, people.c.id).limit(limit))
        return [self._person(row) for row in rows.mappings()]

    def claim_totp_step(self, person_id: str, step: int) -> bool:
        """Record ``step`` as used unless it (or a later one) already was; True when claimed."""
        claimed = self.session.execute(update(people).where(
            people.c.id == person_id,
            or_(people.c.totp_last_step.is_(None), people.c.totp_last_step < step),
        ).values(totp_last_step=step))
        return claimed.rowcount == 1

    def count_failed_sign_in(self, person_id: str, now: datetime, attempts: int, lockout: timedelta) -> None:
        """One more failure; at ``attempts`` in a row, lock until ``now + lockout`` and start again."""
        mine = people.c.id == person_id
        self.session.execute(update(people).where(mine).values(failed_sign_ins=people.c.failed_sign_ins + 1))
        failures = self.session.execute(select(people.c.failed_sign_ins).where(mine)).scalar()
        if failures is not None and failures >= attempts:
            self.session.execute(update(people).where(mine).values(locked_until=now + lockout,
                                                                   failed_sign_ins=0))

    def clear_failed_sign_ins(self, person_id: str) -> None:
        self.session.execute(update(people).where(people.c.id == person_id)
                             .values(failed_sign_ins=0, locked_until=None))

    # -- sessions -------------------------------------------------------------------------

    def add_session(self, session: PersonSession) -> None:
        self.session.execute(insert(person_sessions).values(
            id=session.id, person_id=session.person_id, digest=session.digest,
            created_at=session.created_at, last_seen_at=session.last_seen_at,
            expires_at=session.expires_at, ended_at=session.ended_at))

    def find_session(self, session_id: str) -> tuple[PersonSession, Person, Agency] | None:
        """The session with its person and their agency, or None."""
        row = self.session.execute(
            select(person_sessions, people, agencies.c.kind.label("agency_kind"),
                   agencies.c.roles.label("agency_roles"), agencies.c.status.label("agency_status"))
            .join(people, people.c.id == person_sessions.c.person_id)
            .join(agencies, agencies.c.id == people.c.agency_id)
            .where(person_sessions.c.id == session_id)
        ).first()
        if row is None:
            return None
        values = row._mapping
        found = PersonSession(values[person_sessions.c.id], values[person_sessions.c.person_id],
                              values[person_sessions.c.digest], values[person_sessions.c.created_at],
                              values[person_sessions.c.last_seen_at], values[person_sessions.c.expires_at],
                              values[person_sessions.c.ended_at])
        person = self._person({column.name: values[column] for column in people.c})
        agency = Agency(person.agency_id, values["agency_kind"], frozenset(values["agency_roles"]),
                        active=values["agency_status"] == "active")
        return found, person, agency

    def touch_session(self, session_id: str, now: datetime) -> None:
        self.session.execute(update(person_sessions).where(person_sessions.c.id == session_id)
                             .values(last_seen_at=now))

    def end_session(self, session_id: str, now: datetime) -> None:
        self.session.execute(update(person_sessions).where(
            person_sessions.c.id == session_id, person_sessions.c.ended_at.is_(None)).values(ended_at=now))

    def end_sessions_of(self, person_id: str, now: datetime) -> int:
        ended = self.session.execute(update(person_sessions).where(
            person_sessions.c.person_id == person_id, person_sessions.c.ended_at.is_(None))
            .values(ended_at=now))
        return ended.rowcount

    def end_sessions_of_agency(self, agency_id: str, now: datetime) -> int:
        staff = select(people.c.id).where(people.c.agency_id == agency_id)
        ended = self.session.execute(update(person_sessions).where(
            person_sessions.c.person_id.in_(staff), person_sessions.c.ended_at.is_(None))
            .values(ended_at=now))
        return ended.rowcount

    # -- rows -----------------------------------------------------------------------------

    def _one(self, condition) -> Person | None:
        row = self.session.execute(select(people).where(condition)).mappings().first()
        return self._person(row) if row else None

    def _row(self, person: Person) -> dict:
        sealed = seal(self.ring, "people", person.id, {name: getattr(person, name) for name in _SEALED})
        return {column.name: getattr(person, column.name) for column in people.c} | sealed

    def _person(self, row) -> Person:
        opened = unseal(self.ring, "people", row["id"], {name: row[name] for name in _SEALED})
        values = {column.name: row[column.name] for column in people.c} | opened
        values["roles"] = list(values["roles"])
        values["failed_sign_ins"] = values["failed_sign_ins"] or 0
        return Person(**values)
