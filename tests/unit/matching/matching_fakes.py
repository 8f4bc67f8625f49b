"""In-memory repositories for matching's handler tests: what ``uow.referrals``, ``uow.matches``
and ``uow.mentors`` answer on a database, without one. Each returns copies, as rows would be."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from services.matching.domain import ConsentScope, Mentor
from services.matching.domain.ladder import DEFAULT_LEVEL_CAPS, LevelCaps
from services.matching.domain.match import LIVE, Match
from services.matching.domain.referral import Referral
from services.matching.domain.registered import RegisteredMentor
from tests.unit.fake_unit_of_work import FakeUnitOfWork

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class FakeMatches:
    def __init__(self) -> None:
        self.rows: dict[str, Match] = {}
        self._seen: dict[str, tuple[str, datetime | None]] = {}
        self.rebalance_locks = 0

    def _out(self, match: Match) -> Match:
        self._seen[match.id] = (match.status, match.released_at)
        return replace(match, explanation=list(match.explanation), events=[])

    def add(self, match: Match, *, only_if=None) -> bool:
        """``only_if``: a callable standing for the SQL condition (``FakeMentors.has_place``)."""
        assert match.id not in self.rows
        if only_if is not None and not only_if():
            return False
        self.rows[match.id] = self._out(match)
        return True

    def save(self, match: Match) -> bool:
        """False when the stored match changed since it was read (decided elsewhere)."""
        stored = self.rows[match.id]
        if (stored.status, stored.released_at) != self._seen[match.id]:
            return False
        self.rows[match.id] = self._out(match)
        return True

    def get(self, match_id: str) -> Match | None:
        found = self.rows.get(match_id)
        return None if found is None else self._out(found)

    def live(self, referral_ids) -> dict[str, Match]:
        wanted = set(referral_ids)
        return {m.referral_id: self._out(m) for m in self.rows.values()
                if m.referral_id in wanted and m.status in LIVE}

    def live_of_mentor(self, mentor_id: str) -> list[Match]:
        return [self._out(m) for m in self.rows.values() if m.mentor_id == mentor_id and m.status in LIVE]

    def of_agency(self, agency_id: str | None, status: str | None = None, *,
                  after=None, limit: int | None = None) -> list[Match]:
        found = [m for m in self.rows.values() if agency_id in (None, m.mentor_agency_id)
                 and status in (None, m.status)]
        found.sort(key=lambda m: m.id)
        found.sort(key=lambda m: m.proposed_at, reverse=True)
        if after is not None:
            found = [m for m in found if m.proposed_at < after[0]
                     or (m.proposed_at == after[0] and m.id > after[1])]
        return [self._out(m) for m in found[:limit]]

    def due(self, now: datetime, limit: int) -> list[Match]:
        found = sorted((m for m in self.rows.values() if m.is_due(now)), key=lambda m: (m.expires_at, m.id))
        return [self._out(m) for m in found[:limit]]

    def lock_rebalance(self) -> None:
        self.rebalance_locks += 1

    def holds(self, except_referrals=()) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.rows.values():
            if m.status == "proposed" and m.referral_id not in except_referrals:
                counts[m.mentor_id] = counts.get(m.mentor_id, 0) + 1
        return counts


class FakeMentors:
    def __init__(self, matches: FakeMatches, caps: LevelCaps = DEFAULT_LEVEL_CAPS) -> None:
        self.matches = matches
        self.caps = caps
        self.rows: dict[str, RegisteredMentor] = {}
        self.locked: set[str] = set()
        self.reminders: set[tuple[str, date, int]] = set()

    def _capped(self, mentor: Mentor) -> Mentor:
        """As rows read: with the cap of the mentor's level."""
        return replace(mentor, level_cap=self.caps.cap(mentor.level))

    def add(self, mentor: Mentor, now: datetime) -> None:
        assert mentor.id not in self.rows
        self.rows[mentor.id] = RegisteredMentor(self._capped(replace(mentor, caseload=0)), now, now)

    def put(self, mentor: Mentor) -> None:
        """Test setup: a registered mentor with the caseload it was built with."""
        self.rows[mentor.id] = RegisteredMentor(self._capped(mentor), NOW, NOW)

    def get(self, mentor_id: str) -> RegisteredMentor | None:
        return self.rows.get(mentor_id)

    def of_agency(self, agency_id: str | None, *, active: bool | None = None, after=None,
                  limit: int | None = None) -> list[RegisteredMentor]:
        found = sorted((r for r in self.rows.values() if agency_id in (None, r.agency_id)
                        and active in (None, r.mentor.active)), key=lambda r: (r.created_at, r.id))
        if after is not None:
            found = [r for r in found if (r.created_at, r.id) > after]
        return found[:limit]

    def change(self, mentor: Mentor, changed, now: datetime) -> bool:
        stored = self.rows[mentor.id]
        if "capacity" in changed and mentor.capacity < stored.mentor.caseload:
            return False
        self.rows[mentor.id] = replace(
            stored, mentor=self._capped(replace(mentor, caseload=stored.mentor.caseload)), updated_at=now)
        return True

    def vocabulary(self, *, excluding: str) -> tuple[set[str], set[str]]:
        others = [r.mentor for r in self.rows.values() if r.id != excluding]
        return ({t for m in others for t in m.languages}, {t for m in others for t in m.lived_experience})

    def places_left(self, ids) -> dict[str, int]:
        holds = self.matches.holds()
        return {i: self.rows[i].mentor.effective_capacity - self.rows[i].mentor.caseload - holds.get(i, 0)
                for i in ids if i in self.rows}

    def lock_for_hold(self, mentor_id: str) -> bool:
        self.locked.add(mentor_id)
        return True

    def has_place(self, mentor_id: str, today: date):
        """Evaluated when the proposal is added, as the SQL condition is by its INSERT."""
        def holds() -> bool:
            m = self.rows[mentor_id].mentor
            return (m.active and m.certified_until >= today
                    and self.places_left([mentor_id]).get(mentor_id, 0) > 0)
        return holds

    def take_place(self, mentor_id: str, today: date) -> bool:
        stored = self.rows[mentor_id]
        m = stored.mentor
        if not (m.active and m.certified_until >= today and m.caseload < m.effective_capacity):
            return False
        self.rows[mentor_id] = replace(stored, mentor=replace(m, caseload=m.caseload + 1))
        return True

    def free_place(self, mentor_id: str) -> None:
        stored = self.rows[mentor_id]
        m = stored.mentor
        self.rows[mentor_id] = replace(stored, mentor=replace(m, caseload=max(0, m.caseload - 1)))

    def certified_until_between(self, first: date, last: date) -> list[tuple[str, str, date]]:
        return sorted((r.id, r.agency_id, r.mentor.certified_until) for r in self.rows.values()
                      if first <= r.mentor.certified_until <= last)

    def record_reminder(self, mentor_id: str, certified_until: date, days: int, now: datetime) -> bool:
        key = (mentor_id, certified_until, days)
        if key in self.reminders:
            return False
        self.reminders.add(key)
        return True

    def lock_rows(self, ids) -> None:
        self.locked.update(ids)

    def lock_open_mentors(self, today: date) -> None:
        self.locked.update(m.id for m in self._open(today))

    def _open(self, today: date) -> list[Mentor]:
        return [r.mentor for r in self.rows.values() if r.mentor.active and r.mentor.certified_until >= today]

    def open_mentors(self, today: date, *, scope: ConsentScope | None = None,
                     holds_except=()) -> list[Mentor]:
        holds = self.matches.holds(holds_except)
        return [replace(m, caseload=m.caseload + holds.get(m.id, 0)) for m in self._open(today)
                if scope is None or (scope.covers(m.agency_id, m.agency_kind))]


class FakeReferrals:
    def __init__(self, matches: FakeMatches, mentors: FakeMentors) -> None:
        self.matches, self.mentors = matches, mentors
        self.rows: dict[str, Referral] = {}
        self.exclusions: dict[str, set[str]] = {}

    def add(self, referral: Referral) -> None:
        assert referral.id not in self.rows
        self.rows[referral.id] = referral

    def add_new(self, referral: Referral) -> bool:
        if referral.id in self.rows:
            return False
        self.rows[referral.id] = referral
        return True

    def save(self, referral: Referral) -> None:
        self.rows[referral.id] = referral

    def get(self, referral_id: str) -> Referral | None:
        return self.rows.get(referral_id)

    def of_ids(self, ids) -> dict[str, Referral]:
        return {i: self.rows[i] for i in set(ids) if i in self.rows}

    def lock(self, ids, *, skip_locked: bool = False) -> list[Referral]:
        return [self.rows[i] for i in sorted(set(ids)) if i in self.rows and self.rows[i].is_open]

    def lock_one(self, referral_id: str) -> Referral | None:
        found = self.lock([referral_id])
        return found[0] if found else None

    def _open_without(self, statuses) -> list[str]:
        taken = {m.referral_id for m in self.matches.rows.values() if m.status in statuses}
        waiting = [r for r in self.rows.values() if r.is_open and r.id not in taken]
        waiting.sort(key=lambda r: (r.urgency != "urgent", r.requested_at, r.id))
        return [r.id for r in waiting]

    def waitlist(self) -> list[str]:
        return self._open_without(LIVE)

    def unaccepted(self) -> list[str]:
        return self._open_without(("accepted",))

    def relying_on(self, consent_id: str) -> list[str]:
        return [r.id for r in self.rows.values() if r.consent_id == consent_id and r.is_open]

    def exclude(self, referral_id: str, mentor_id: str, reason: str, at: datetime) -> None:
        self.exclusions.setdefault(referral_id, set()).add(mentor_id)

    def excluded(self, referrals) -> dict[str, set[str]]:
        return {r.id: self.blocked_mentors(r) | self.exclusions.get(r.id, set()) for r in referrals}

    def blocked_mentors(self, referral: Referral) -> set[str]:
        return {m.id for m in self.mentors.rows.values() if m.agency_id in referral.blocked_agencies}


def matching_uow(caps: LevelCaps = DEFAULT_LEVEL_CAPS, **kwargs: Any) -> FakeUnitOfWork:
    """A fake unit of work carrying the three matching repositories (mentor levels capped by
    ``caps``)."""
    matches = FakeMatches()
    mentors = FakeMentors(matches, caps)
    return FakeUnitOfWork(source="matching", referrals=FakeReferrals(matches, mentors),
                          matches=matches, mentors=mentors, **kwargs)
