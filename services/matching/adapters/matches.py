"""``Match`` aggregates in the ``matches`` table, within the caller's unit of work (never commits).

Saving is one conditional UPDATE: it applies only if the row is still as it was loaded (its
status, and whether its place was released), so when another transaction decided the match
first ``save`` answers False and nothing changes. A proposal can be added on a condition
(its mentor still has a place): one ``INSERT ... SELECT ... WHERE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Insert, Row, Update, and_, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from services.matching.adapters.orm import LIVE_STATUSES, matches
from services.matching.domain.match import Match

_REBALANCE_LOCK = 0x6D617463  # pg advisory lock key: one batch re-solve at a time
_CHANGING = ("status", "decided_at", "released_at", "reason_code")
_COLUMNS = tuple(matches.c.keys())

# Built once: every proposal runs them (the proposal's INSERT, its events' outbox rows aside).
_ADD = insert(matches)
# Built once: every event about a referral reads its live match and saves its transitions.
_LIVE = select(matches).where(matches.c.referral_id.in_(bindparam("referral_ids", expanding=True)),
                              matches.c.status.in_(LIVE_STATUSES))


def _save_if_unchanged(unreleased: bool) -> Update:
    """Write a transition if the row is as loaded: its status, and its place released or not."""
    m = matches.c
    released = m.released_at.is_(None) if unreleased else m.released_at.is_not(None)
    return (update(matches).where(m.id == bindparam("b_id"), m.status == bindparam("b_status"), released)
            .values({k: bindparam(k, type_=m[k].type) for k in _CHANGING}))


_SAVE = {unreleased: _save_if_unchanged(unreleased) for unreleased in (True, False)}


class Condition(NamedTuple):
    """SQL that must hold for a write to happen, built once, with the values of its parameters
    (e.g. ``MentorRepository.has_place``)."""

    clause: ColumnElement[bool]
    params: Mapping[str, Any]


@cache
def _add_if(condition: ColumnElement[bool]) -> Insert:
    """``INSERT INTO matches SELECT :id, :referral_id, ... WHERE condition RETURNING id``."""
    source = select(*(bindparam(k, type_=matches.c[k].type) for k in _COLUMNS)).where(condition)
    return insert(matches).from_select(_COLUMNS, source).returning(matches.c.id)


class MatchRepository:
    """Matches of the mentors' agencies; remembers how each loaded match looked."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._seen: dict[str, tuple[str, bool]] = {}

    def _loaded(self, row: Row) -> Match:
        match = Match(**row._mapping)
        self._seen[match.id] = (match.status, match.released_at is None)
        return match

    def _many(self, query, params: Mapping[str, Any] | None = None) -> list[Match]:
        return [self._loaded(row) for row in self.session.execute(query, params)]

    def add(self, match: Match, *, only_if: Condition | None = None) -> bool:
        """Store a new match; with ``only_if``, only when that condition holds in the same
        statement. Whether it was stored."""
        values = {k: getattr(match, k) for k in _COLUMNS}
        if only_if is None:
            self.session.execute(_ADD, values)
        else:
            # RETURNING, not rowcount: psycopg's rowcount of an INSERT ... SELECT is not relied on.
            inserted = self.session.execute(_add_if(only_if.clause), {**values, **only_if.params})
            if inserted.first() is None:
                return False
        self._seen[match.id] = (match.status, match.released_at is None)
        return True

    def save(self, match: Match) -> bool:
        """Write a loaded match's transition; False when the row changed since it was loaded."""
        status, unreleased = self._seen[match.id]
        changes = {k: getattr(match, k) for k in _CHANGING}
        if self.session.execute(_SAVE[unreleased], {"b_id": match.id, "b_status": status,
                                                    **changes}).rowcount != 1:
            return False
        self._seen[match.id] = (match.status, match.released_at is None)
        return True

    def get(self, match_id: str) -> Match | None:
        found = self._many(select(matches).where(matches.c.id == match_id))
        return found[0] if found else None

    def live(self, referral_ids: Iterable[str]) -> dict[str, Match]:
        """The live (proposed or accepted) match of each of these referrals that has one."""
        found = self._many(_LIVE, {"referral_ids": list(referral_ids)})
        return {match.referral_id: match for match in found}

    def live_of_mentor(self, mentor_id: str) -> list[Match]:
        m = matches.c
        return self._many(select(matches).where(m.mentor_id == mentor_id, m.status.in_(LIVE_STATUSES)))

    def of_agency(self, agency_id: str | None, status: str | None = None, *,
                  after: tuple[datetime, str] | None = None, limit: int | None = None) -> list[Match]:
        """Matches of one agency's mentors (or all), newest first, strictly after the
        ``(proposed_at, id)`` position ``after``."""
        m = matches.c
        query = select(matches).order_by(m.proposed_at.desc(), m.id)
        if agency_id is not None:
            query = query.where(m.mentor_agency_id == agency_id)
        if status is not None:
            query = query.where(m.status == status)
        if after is not None:
            at, last_id = after
            query = query.where(or_(m.proposed_at < at, and_(m.proposed_at == at, m.id > last_id)))
        if limit is not None:
            query = query.limit(limit)
        return self._many(query)

    def due(self, now: datetime, limit: int) -> list[Match]:
        """Proposals past ``expires_at``, the longest overdue first."""
        m = matches.c
        query = (select(matches).where(m.status == "proposed", m.expires_at <= now)
                 .order_by(m.expires_at, m.id).limit(limit))
        return self._many(query)

    def lock_rebalance(self) -> None:
        """One batch re-solve at a time on PostgreSQL (SQLite has one writer anyway)."""
        if self.session.bind.dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REBALANCE_LOCK})
