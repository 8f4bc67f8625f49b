"""The mentor registry's reads and writes, within the caller's unit of work (never commits).

A mentor's caseload changes only through ``take_place`` / ``free_place``: single conditional
UPDATEs, so concurrent accepts are decided by the database (and its CHECK backs them up).
A proposal holds a place too: ``lock_for_hold`` locks the mentor's row, then the proposal's own
INSERT counts the places left (``has_place``) and stores nothing when none is, so two
transactions never both take a mentor's last place. The count must be a statement that starts
after the lock is held: under READ COMMITTED a statement sees what was committed when it
started, so a count made by the statement that waits for the lock would miss the proposal of
the transaction it waited for (open proposals are rows of ``matches``, not of the locked row).

Mentor rows are locked last in every transaction (after referrals, matches and the registry
version), and a transaction waits for a mentor row only while it holds none, or in ascending
id order; otherwise a busy mentor counts as full for now (``SKIP LOCKED``). No cycle of waits
can form. Every change of a mentor's details bumps the registry version (see
``orm.registry_version``), which is how replicas keep their cached registry current.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.kit.db import dialect_insert
from services.matching.adapters.matches import Condition
from services.matching.adapters.orm import certification_reminders, matches, mentors, registry_version
from services.matching.domain import ConsentScope, Mentor
from services.matching.domain.ladder import DEFAULT_LEVEL_CAPS, LevelCaps
from services.matching.domain.registered import RegisteredMentor

_MENTOR_FIELDS = frozenset(mentors.c.keys()) - {"changed_version", "created_at", "updated_at"}

# Built once: every pick and proposal runs them (``registry_cache``, ``Matchmaker._propose``).
_VERSION = select(registry_version.c.version).where(registry_version.c.id == 1)
_LOCK_FOR_HOLD = select(mentors.c.id).where(mentors.c.id == bindparam("mentor_id")).with_for_update()
_LOCK_FOR_HOLD_SKIPPING = (select(mentors.c.id).where(mentors.c.id == bindparam("mentor_id"))
                           .with_for_update(skip_locked=True))
_CHANGED_BETWEEN = select(mentors).where(mentors.c.changed_version > bindparam("after"),
                                         mentors.c.changed_version <= bindparam("upto"))


@dataclass(frozen=True)
class Candidate:
    """A mentor as one statement read them: their places left (open proposals counted), their
    caseload, and the version of their last change of details. The details themselves are the
    cache's, held at that version (``registry_cache.py``): reading them again for every
    candidate of every pick would decode each one's JSON columns for nothing."""

    row: Row

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def changed_version(self) -> int:
        return self.row.changed_version

    @property
    def caseload(self) -> int:
        return self.row.caseload

    @property
    def places_left(self) -> int:
        return self.row.places_left_


def mentor_from_row(row: Row, extra_load: int = 0, caps: LevelCaps = DEFAULT_LEVEL_CAPS) -> Mentor:
    """The domain mentor with their level's cap; ``extra_load`` counts open proposals as held
    places when picking. Columns of the row that are not the mentor's are left out."""
    fields = {key: value for key, value in row._mapping.items() if key in _MENTOR_FIELDS}
    fields["level_cap"] = caps.cap(fields["level"])
    lat, lon = fields.pop("lat"), fields.pop("lon")
    fields["location"] = None if lat is None else {"lat": lat, "lon": lon}
    fields["caseload"] += extra_load
    return Mentor.from_dict(fields)


def registered_from_row(row: Row, caps: LevelCaps = DEFAULT_LEVEL_CAPS) -> RegisteredMentor:
    return RegisteredMentor(mentor_from_row(row, caps=caps), row.created_at, row.updated_at)


def mentor_values(mentor: Mentor) -> dict[str, Any]:
    """Column values of a domain mentor (caseload is not written from here)."""
    values = mentor.to_dict()
    location = values.pop("location")
    values.pop("caseload")
    values.pop("level_cap", None)
    values["certified_until"] = mentor.certified_until
    values["lat"], values["lon"] = (location["lat"], location["lon"]) if location else (None, None)
    return values


Caps = tuple[tuple[str, int], ...]  # (level, cap) pairs: ``LevelCaps`` as a cache key


def _effective_capacity(caps: Caps):
    """SQL for each mentor's own capacity, no more than their level's cap."""
    c = mentors.c
    cap = case(*((c.level == level, limit) for level, limit in caps),
               else_=c.capacity)  # no level: own capacity only
    return case((c.capacity < cap, c.capacity), else_=cap)


def _places(caps: Caps):
    """SQL for a mentor row's places left: effective capacity minus caseload minus open
    proposals (a subquery correlated with the row)."""
    m = matches.c
    proposals = (select(func.count()).where(m.mentor_id == mentors.c.id, m.status == "proposed")
                 .scalar_subquery())
    return _effective_capacity(caps) - mentors.c.caseload - proposals


class PlaceStatements(NamedTuple):
    """The statements that count places, for one set of level caps (``place_statements``)."""

    candidates: Select  # mentors IN :ids: id, changed_version, caseload, places_left_, registry_version_
    has_place: ColumnElement[bool]  # :place_mentor_id takes referrals on :place_today, a place left


@cache
def place_statements(caps: Caps) -> PlaceStatements:
    """Built once per set of caps (a process has one): every pick reads the candidates, and
    every proposal's INSERT checks the chosen mentor's place."""
    c = mentors.c
    version = _VERSION.scalar_subquery()
    candidates = (select(c.id, c.changed_version, c.caseload, _places(caps).label("places_left_"),
                         version.label("registry_version_"))
                  .where(c.id.in_(bindparam("ids", expanding=True))))
    has_place = exists(select(c.id).where(c.id == bindparam("place_mentor_id"), c.active.is_(True),
                                          c.certified_until >= bindparam("place_today"),
                                          _places(caps) > 0))
    return PlaceStatements(candidates, has_place)


class MentorRepository:
    """Mentors' rows: details, places and holds, and the registry version."""

    def __init__(self, session: Session, caps: LevelCaps = DEFAULT_LEVEL_CAPS) -> None:
        self.session = session
        self.caps = caps
        self._caps: Caps = tuple(caps.caps.items())

    def add(self, mentor: Mentor, now: datetime) -> None:
        """Register a mentor with no one in their care yet."""
        self.session.execute(insert(mentors).values(
            **mentor_values(mentor), caseload=0, created_at=now, updated_at=now,
            changed_version=self._next_version()))

    def _row(self, mentor_id: str) -> Row | None:
        return self.session.execute(select(mentors).where(mentors.c.id == mentor_id)).first()

    def get(self, mentor_id: str) -> RegisteredMentor | None:
        row = self._row(mentor_id)
        return None if row is None else registered_from_row(row, self.caps)

    def of_agency(self, agency_id: str | None, *, active: bool | None = None,
                  after: tuple[datetime, str] | None = None,
                  limit: int | None = None) -> list[RegisteredMentor]:
        """One agency's mentors, or every mentor (``None``), oldest first; only those ``active``
        (or not) when given; strictly after the ``(created_at, id)`` position ``after``."""
        c = mentors.c
        query = select(mentors).order_by(c.created_at, c.id)
        if agency_id is not None:
            query = query.where(c.agency_id == agency_id)
        if active is not None:
            query = query.where(c.active == active)
        if after is not None:
            query = query.where(or_(c.created_at > after[0], and_(c.created_at == after[0], c.id > after[1])))
        if limit is not None:
            query = query.limit(limit)
        return [registered_from_row(row, self.caps) for row in self.session.execute(query)]

    def change(self, mentor: Mentor, changed: Collection[str], now: datetime) -> bool:
        """Write the ``changed`` details of a mentor (a location always with both coordinates).

        False when the new capacity is below the mentor's caseload (checked atomically).
        """
        columns = mentor_values(mentor)
        values = {k: columns[k] for k in columns if k in changed or k in ("lat", "lon")}
        self._locked().add(mentor.id)
        statement = (update(mentors).where(mentors.c.id == mentor.id)
                     .values(**values, updated_at=now, changed_version=self._next_version()))
        if "capacity" in values:
            statement = statement.where(mentors.c.caseload <= values["capacity"])
        return self.session.execute(statement).rowcount == 1

    def lock_for_hold(self, mentor_id: str) -> bool:
        """Lock the mentor's row for a proposal, whose INSERT then decides whether a place is
        left (``has_place``); False when another transaction holds the row and waiting could
        deadlock (the mentor counts as full for now).

        On SQLite no statement: one writer at a time, and the INSERT alone is atomic.
        """
        locked = self._locked()
        if mentor_id in locked:
            return True
        if self.session.bind.dialect.name == "sqlite":
            locked.add(mentor_id)
            return True
        wait = not locked or mentor_id > max(locked)
        query = _LOCK_FOR_HOLD if wait else _LOCK_FOR_HOLD_SKIPPING
        if self.session.execute(query, {"mentor_id": mentor_id}).first() is None:
            return False
        locked.add(mentor_id)
        return True

    def has_place(self, mentor_id: str, today: date) -> Condition:
        """SQL, true when the mentor takes referrals on ``today`` and has a place left for one
        more proposal: effective capacity minus caseload minus open proposals, as the statement
        it is part of sees them (with the row locked by ``lock_for_hold`` beforehand)."""
        return Condition(place_statements(self._caps).has_place,
                         {"place_mentor_id": mentor_id, "place_today": today})

    def lock_rows(self, ids: Collection[str]) -> None:
        """Lock these mentors' rows in ascending id order, waiting (before any other mentor row)."""
        wanted = sorted(set(ids) - self._locked())
        if wanted:
            query = select(mentors.c.id).where(mentors.c.id.in_(wanted)).order_by(mentors.c.id)
            self._locked().update(self.session.scalars(query.with_for_update()))

    def lock_open_mentors(self, today: date) -> None:
        """Lock every active, certified mentor's row, ascending (the batch re-solve, first)."""
        c = mentors.c
        query = (select(c.id).where(c.active.is_(True), c.certified_until >= today)
                 .order_by(c.id).with_for_update())
        self._locked().update(self.session.scalars(query))

    def _locked(self) -> set[str]:
        """Mentor rows this transaction has locked (the session lives as long as it)."""
        return self.session.info.setdefault("locked_mentors", set())

    def take_place(self, mentor_id: str, today: date) -> bool:
        """Add one to the caseload if a place is left: the accept-or-409 decision."""
        self._locked().add(mentor_id)
        c = mentors.c
        taken = self.session.execute(
            update(mentors).values(caseload=c.caseload + 1)
            .where(c.id == mentor_id, c.caseload < _effective_capacity(self._caps), c.active.is_(True),
                   c.certified_until >= today))
        return taken.rowcount == 1

    def free_place(self, mentor_id: str) -> None:
        self._locked().add(mentor_id)
        c = mentors.c
        self.session.execute(update(mentors).values(caseload=c.caseload - 1)
                             .where(c.id == mentor_id, c.caseload > 0))

    def open_mentors(self, today: date, *, scope: ConsentScope | None = None,
                     holds_except: Collection[str] = ()) -> list[Mentor]:
        """Active, certified mentors (of ``scope``'s agencies), with open proposals as load
        (except the proposals of the referrals in ``holds_except``)."""
        c = mentors.c
        query = select(mentors).where(c.active.is_(True), c.certified_until >= today)
        if scope is not None:
            query = query.where(or_(c.agency_id.in_(scope.agencies), c.agency_kind.in_(scope.classes)),
                                c.agency_id.not_in(scope.blocked))
        holds = self._holds(*([matches.c.referral_id.not_in(list(holds_except))] if holds_except else []))
        return [mentor_from_row(row, holds.get(row.id, 0), self.caps) for row in self.session.execute(query)]

    def _holds(self, *conditions) -> dict[str, int]:
        """Open proposals per mentor: places a proposal holds until it is decided."""
        m = matches.c
        query = select(m.mentor_id, func.count()).where(m.status == "proposed", *conditions)
        return dict(self.session.execute(query.group_by(m.mentor_id)).all())

    def vocabulary(self, *, excluding: str) -> tuple[set[str], set[str]]:
        """Distinct languages and lived-experience tags of every other mentor."""
        query = select(mentors.c.languages, mentors.c.lived_experience).where(mentors.c.id != excluding)
        rows = self.session.execute(query).all()
        return {tag for row in rows for tag in row[0]}, {tag for row in rows for tag in row[1]}

    def candidates(self, ids: Collection[str]) -> tuple[int, dict[str, Candidate]]:
        """These mentors' places left, caseloads and detail versions as they are now, and the
        registry version, all read by one statement (so the version is the one the rows were
        read at)."""
        rows = self.session.execute(place_statements(self._caps).candidates, {"ids": list(ids)}).all()
        if not rows:
            return self.version(), {}
        found = {row.id: Candidate(row) for row in rows}
        return rows[0].registry_version_ or 0, found

    # -- certification reminders ---------------------------------------------------------------

    def certified_until_between(self, first: date, last: date) -> list[tuple[str, str, date]]:
        """``(id, agency_id, certified_until)`` of mentors whose certification ends in
        ``first..last`` (paused ones too: they may come back)."""
        c = mentors.c
        query = (select(c.id, c.agency_id, c.certified_until)
                 .where(c.certified_until >= first, c.certified_until <= last).order_by(c.id))
        return [tuple(row) for row in self.session.execute(query)]

    def record_reminder(self, mentor_id: str, certified_until: date, days: int, now: datetime) -> bool:
        """Record that this reminder goes out; False when it went out before."""
        # RETURNING, not rowcount: psycopg reports -1 for this insert on PostgreSQL.
        inserted = self.session.execute(dialect_insert(self.session, certification_reminders).values(
            mentor_id=mentor_id, certified_until=certified_until, days=days, sent_at=now,
        ).on_conflict_do_nothing().returning(certification_reminders.c.days))
        return inserted.first() is not None

    # -- the registry version -------------------------------------------------------------------

    def version(self) -> int:
        """The registry version this transaction sees (0 before any mentor exists)."""
        return self.session.scalar(_VERSION) or 0

    def changed_between(self, after: int, upto: int) -> list[tuple[Mentor, int]]:
        """Mentors whose details changed in versions ``after`` (excluded) to ``upto``, each with
        the version of their last change."""
        rows = self.session.execute(_CHANGED_BETWEEN, {"after": after, "upto": upto})
        return [(mentor_from_row(row, caps=self.caps), row.changed_version) for row in rows]

    def _next_version(self) -> int:
        # The UPDATE row-locks the one row until commit: versions commit in order, no gaps.
        self.session.execute(dialect_insert(self.session, registry_version).values(id=1, version=0)
                             .on_conflict_do_nothing())
        v = registry_version.c
        self.session.execute(update(registry_version).where(v.id == 1).values(version=v.version + 1))
        return self.version()
