"""Matching's referrals and their exclusions, within the caller's unit of work (never commits).

Locks are taken in one order: referrals (by id, or skipping those another transaction holds),
then matches, then the registry version, then mentor rows (see ``adapters.mentors``), so two
transactions on PostgreSQL never wait for each other in a circle. SQLite has one writer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import Insert, Row, bindparam, case, exists, insert, not_, select, update
from sqlalchemy.orm import Session

from services.kit.db import insert_for
from services.matching.adapters.orm import LIVE_STATUSES, matches, mentors, referral_exclusions, referrals
from services.matching.domain.referral import Referral

# Built once: every referral requested (and every event about one) runs them.
_GET = select(referrals).where(referrals.c.id == bindparam("referral_id"))
_ADD = insert(referrals)
_OPEN_AMONG = (select(referrals).where(referrals.c.id.in_(bindparam("ids", expanding=True)),
                                       referrals.c.closed_at.is_(None))
               .order_by(referrals.c.id))
_LOCK = _OPEN_AMONG.with_for_update()
_LOCK_SKIPPING = _OPEN_AMONG.with_for_update(skip_locked=True)
_SAVED = ("allowed", "blocked_agencies", "criteria", "closed_at", "closed_reason")
_SAVE = (update(referrals).where(referrals.c.id == bindparam("b_id"))
         .values({k: bindparam(k, type_=referrals.c[k].type) for k in _SAVED}))
_MENTORS_OF_AGENCIES = (select(mentors.c.id)
                        .where(mentors.c.agency_id.in_(bindparam("agencies", expanding=True))))
_EXCLUSIONS = (select(referral_exclusions.c.referral_id, referral_exclusions.c.mentor_id)
               .where(referral_exclusions.c.referral_id.in_(bindparam("referral_ids", expanding=True))))


@cache
def _add_new(dialect: str) -> Insert:
    """A referral unless its id is known (open, closed or a tombstone): built once per dialect."""
    return (insert_for(dialect)(referrals).on_conflict_do_nothing(index_elements=["id"])
            .returning(referrals.c.id))


def _row(referral: Referral) -> dict:
    """The referral's row as an INSERT's parameters."""
    return {**referral.__dict__, "blocked_agencies": list(referral.blocked_agencies)}


def referral_from_row(row: Row) -> Referral:
    fields = dict(row._mapping)
    fields["blocked_agencies"] = tuple(fields["blocked_agencies"])
    return Referral(**fields)


class ReferralRepository:
    """Referrals as matching knows them (criteria and consent scope), and the mentors each one
    is never to be proposed again."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, referral: Referral) -> None:
        self.session.execute(_ADD, _row(referral))

    def add_new(self, referral: Referral) -> bool:
        """Store the referral unless one with its id is known; True when it was stored.

        One statement where asking and then storing took two. A stored row is this transaction's
        alone until it commits: no other transaction can read or lock it, so the caller holds it
        as if locked. A concurrent attempt with the same id waits for this one's commit, then
        stores nothing.
        """
        statement = _add_new(self.session.get_bind().dialect.name)
        return self.session.execute(statement, _row(referral)).first() is not None

    def save(self, referral: Referral) -> None:
        """Write its scope, criteria and closing (the ids never change)."""
        self.session.execute(_SAVE, {
            "b_id": referral.id, "allowed": referral.allowed,
            "blocked_agencies": list(referral.blocked_agencies), "criteria": referral.criteria,
            "closed_at": referral.closed_at, "closed_reason": referral.closed_reason})

    def get(self, referral_id: str) -> Referral | None:
        """The referral, open or closed; None if its request never arrived."""
        row = self.session.execute(_GET, {"referral_id": referral_id}).first()
        return None if row is None else referral_from_row(row)

    def of_ids(self, ids: Iterable[str]) -> dict[str, Referral]:
        """The known referrals among ``ids`` (open or closed), by id, in one query."""
        query = select(referrals).where(referrals.c.id.in_(sorted(set(ids))))
        return {row.id: referral_from_row(row) for row in self.session.execute(query)}

    def lock(self, ids: Iterable[str], *, skip_locked: bool = False) -> list[Referral]:
        """The open referrals among ``ids``, locked (in id order) against concurrent changes.

        With ``skip_locked`` those another transaction holds are left out instead of waited for.
        """
        query = _LOCK_SKIPPING if skip_locked else _LOCK
        return [referral_from_row(row) for row in self.session.execute(query, {"ids": sorted(set(ids))})]

    def lock_one(self, referral_id: str) -> Referral | None:
        """The referral if it is open, locked; None if unknown or closed."""
        found = self.lock([referral_id])
        return found[0] if found else None

    def _open_without(self, statuses: Collection[str]):
        m = matches.c
        has = exists().where(m.referral_id == referrals.c.id, m.status.in_(statuses))
        priority = case((referrals.c.urgency == "urgent", 0), else_=1)
        return (select(referrals.c.id).where(referrals.c.closed_at.is_(None), not_(has))
                .order_by(priority, referrals.c.requested_at, referrals.c.id))

    def waitlist(self) -> list[str]:
        """Open referrals without a live match, urgent first, then oldest first."""
        return list(self.session.scalars(self._open_without(LIVE_STATUSES)))

    def unaccepted(self) -> list[str]:
        """Open referrals not (yet) accepted: the waitlist and the open proposals."""
        return list(self.session.scalars(self._open_without(("accepted",))))

    def relying_on(self, consent_id: str) -> list[str]:
        r = referrals.c
        return list(self.session.scalars(select(r.id).where(r.consent_id == consent_id,
                                                            r.closed_at.is_(None))))

    def exclude(self, referral_id: str, mentor_id: str, reason: str, at: datetime) -> None:
        """Never propose this mentor for this referral again (they declined or let it expire)."""
        x = referral_exclusions.c
        known = select(x.mentor_id).where(x.referral_id == referral_id, x.mentor_id == mentor_id)
        if self.session.execute(known).first() is None:
            self.session.execute(insert(referral_exclusions).values(
                referral_id=referral_id, mentor_id=mentor_id, reason=reason, at=at))

    def excluded(self, referrals_: Iterable[Referral]) -> dict[str, set[str]]:
        """Per referral: mentors who declined or let a proposal expire, and blocked agencies'."""
        rows = list(referrals_)
        found: dict[str, set[str]] = {r.id: self.blocked_mentors(r) for r in rows}
        for referral_id, mentor_id in self.session.execute(_EXCLUSIONS, {"referral_ids": list(found)}):
            found[referral_id].add(mentor_id)
        return found

    def blocked_mentors(self, referral: Referral) -> set[str]:
        """The mentors of the agencies taken off the referral's consent (no statement for none).

        All that excludes a referral ``add_new`` just stored: exclusions name a referral by a
        foreign key and come from its matches, so a new referral has none.
        """
        if not referral.blocked_agencies:
            return set()
        return set(self.session.scalars(_MENTORS_OF_AGENCIES, {"agencies": list(referral.blocked_agencies)}))
