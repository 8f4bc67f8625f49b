"""Referrals, matches and exclusions: reads and writes within the caller's unit of work
(never commits). The mentor registry is in ``adapters.mentors``.

Every change that can race is one conditional UPDATE whose row count says whether it happened.
Locks are taken in one order: referrals (by id, or skipping those another transaction holds),
then matches, then the registry version, then mentor rows (see ``adapters.mentors``), so two
transactions on PostgreSQL never wait for each other in a circle. SQLite has one writer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, exists, insert, not_, select, text, update
from sqlalchemy.orm import Session

from services.matching.adapters.orm import (
    LIVE_STATUSES,
    matches,
    mentors,
    referral_exclusions,
    referrals,
)
from services.matching.domain import ConsentScope, ReferralCriteria

_REBALANCE_LOCK = 0x6D617463  # pg advisory lock key: one batch re-solve at a time


def scope_of(referral: Row) -> ConsentScope:
    return ConsentScope.of(referral.allowed, referral.blocked_agencies)


def criteria_of(referral: Row) -> ReferralCriteria:
    """The referral's criteria under what its consent still covers."""
    return ReferralCriteria.from_requested({
        "referral_id": referral.id, "referrer_agency_id": referral.referrer_agency_id,
        "urgency": referral.urgency, "allowed": scope_of(referral).to_allowed(),
        "criteria": referral.criteria,
    })


class MatchingRepository:
    """Matching's referrals (criteria and consent scope), matches and exclusions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _rowcount(self, statement) -> int:
        return self.session.execute(statement).rowcount

    # -- referrals ----------------------------------------------------------------------------

    def add_referral(self, values: Mapping[str, Any]) -> None:
        self.session.execute(insert(referrals).values(**values))

    def add_tombstone(self, referral_id: str, referrer_agency_id: str, participant_id: str,
                      urgency: str, reason: str, at: datetime) -> None:
        """A referral that ended before its request reached matching: a request arriving
        late (events of different queues may overtake each other) is then ignored."""
        self.add_referral({
            "id": referral_id, "referrer_agency_id": referrer_agency_id,
            "participant_id": participant_id, "consent_id": "", "urgency": urgency,
            "allowed": {"agencies": [], "classes": []}, "blocked_agencies": [], "criteria": None,
            "requested_at": at, "closed_at": at, "closed_reason": reason,
        })

    def referral(self, referral_id: str) -> Row | None:
        return self.session.execute(select(referrals).where(referrals.c.id == referral_id)).first()

    def lock_referrals(self, ids: Iterable[str], *, skip_locked: bool = False) -> list[Row]:
        """The open referrals among ``ids``, locked (in id order) against concurrent changes.

        With ``skip_locked`` those another transaction holds are left out instead of waited for.
        """
        query = (select(referrals).where(referrals.c.id.in_(sorted(set(ids))),
                                         referrals.c.closed_at.is_(None))
                 .order_by(referrals.c.id).with_for_update(skip_locked=skip_locked))
        return list(self.session.execute(query))

    def lock_referral(self, referral_id: str) -> Row | None:
        """The referral if it is open, locked; None if unknown or closed."""
        found = self.lock_referrals([referral_id])
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

    def close_referral(self, referral_id: str, reason: str, at: datetime) -> None:
        """Close and forget the criteria: nothing is matched for it any more."""
        self.session.execute(update(referrals).where(referrals.c.id == referral_id)
                             .values(closed_at=at, closed_reason=reason, criteria=None))

    def set_scope(self, referral_id: str, scope: ConsentScope) -> None:
        self.session.execute(update(referrals).where(referrals.c.id == referral_id).values(
            allowed=scope.to_allowed(), blocked_agencies=sorted(scope.blocked)))

    # -- exclusions ---------------------------------------------------------------------------

    def exclude(self, referral_id: str, mentor_id: str, reason: str, at: datetime) -> None:
        x = referral_exclusions.c
        known = select(x.mentor_id).where(x.referral_id == referral_id, x.mentor_id == mentor_id)
        if self.session.execute(known).first() is None:
            self.session.execute(insert(referral_exclusions).values(
                referral_id=referral_id, mentor_id=mentor_id, reason=reason, at=at))

    def excluded(self, referrals_: Iterable[Row]) -> dict[str, set[str]]:
        """Per referral: mentors who declined or let a proposal expire, and blocked agencies'."""
        rows = list(referrals_)
        x = referral_exclusions.c
        found: dict[str, set[str]] = {r.id: set() for r in rows}
        for row in rows:
            if row.blocked_agencies:
                found[row.id].update(self.session.scalars(
                    select(mentors.c.id).where(mentors.c.agency_id.in_(row.blocked_agencies))))
        query = select(x.referral_id, x.mentor_id).where(x.referral_id.in_(list(found)))
        for referral_id, mentor_id in self.session.execute(query):
            found[referral_id].add(mentor_id)
        return found

    # -- matches ------------------------------------------------------------------------------

    def add_match(self, values: Mapping[str, Any]) -> None:
        self.session.execute(insert(matches).values(**values))

    def match(self, match_id: str) -> Row | None:
        return self.session.execute(select(matches).where(matches.c.id == match_id)).first()

    def live_matches(self, referral_ids: Iterable[str]) -> dict[str, Row]:
        m = matches.c
        query = select(matches).where(m.referral_id.in_(list(referral_ids)), m.status.in_(LIVE_STATUSES))
        return {row.referral_id: row for row in self.session.execute(query)}

    def matches_of(self, agency_id: str | None, status: str | None = None) -> list[Row]:
        """Matches of one agency's mentors (or all), newest first."""
        m = matches.c
        query = select(matches).order_by(m.proposed_at.desc(), m.id)
        if agency_id is not None:
            query = query.where(m.mentor_agency_id == agency_id)
        if status is not None:
            query = query.where(m.status == status)
        return list(self.session.execute(query))

    def live_matches_of_mentor(self, mentor_id: str) -> list[Row]:
        m = matches.c
        return list(self.session.execute(select(matches).where(m.mentor_id == mentor_id,
                                                               m.status.in_(LIVE_STATUSES))))

    def move_match(self, match_id: str, source: str, target: str, at: datetime, *,
                   reason_code: str | None = None, open_at: datetime | None = None) -> bool:
        """``source`` -> ``target`` if the match is still ``source`` (and, with ``open_at``,
        not yet expired then). False when something else decided it first."""
        m = matches.c
        conditions = [m.id == match_id, m.status == source]
        if open_at is not None:
            conditions.append(m.expires_at > open_at)
        values: dict[str, Any] = {"status": target, "decided_at": at}
        if reason_code is not None:
            values["reason_code"] = reason_code
        return self._rowcount(update(matches).where(and_(*conditions)).values(**values)) == 1

    def release(self, match_id: str, at: datetime) -> bool:
        """Mark an accepted match as no longer counting towards the caseload (once)."""
        m = matches.c
        return self._rowcount(update(matches).values(released_at=at).where(
            m.id == match_id, m.status.in_(LIVE_STATUSES + ("withdrawn",)),
            m.released_at.is_(None))) == 1

    def due_proposals(self, now: datetime, limit: int) -> list[Row]:
        m = matches.c
        query = (select(m.id, m.referral_id).where(m.status == "proposed", m.expires_at <= now)
                 .order_by(m.expires_at, m.id).limit(limit))
        return list(self.session.execute(query))

    def lock_rebalance(self) -> None:
        """One batch re-solve at a time on PostgreSQL (SQLite has one writer anyway)."""
        if self.session.bind.dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REBALANCE_LOCK})
