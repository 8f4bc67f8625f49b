"""A replica's in-memory copy of the mentor registry, so an online pick does not reload every
mentor from the database (about 370 ms per referral at 10,000 mentors; a cached pick costs the
table's scoring plus one small query).

The cache holds mentors' *details* only (languages, place, capacity, active, ...), not their
load, and follows the database's registry version: one read says whether anything changed,
and which mentors to reload. Load (caseload and open proposals) is read per pick for the few
best candidates only, in the picking transaction, by one statement that also reads their rows
and the registry version (``MentorRepository.candidates``); only when that version is newer
than the cache's does the pick refresh and score again.

Correctness never rests on the cache being fresh: the chosen mentor's row, as that statement
read it, is checked against every hard rule; if the cached details were stale the pick is
redone without the cache. The proposal's INSERT then checks activity, certification and places
once more against the locked row. A stale cache can only cost optimality in a short window,
never a rule. Refreshes read committed state, so a transaction that changes mentors itself must
pick without the cache (its own changes are not committed yet). Not shared between processes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

import numpy as np

from services.matching.adapters.mentors import Candidate, MentorRepository
from services.matching.domain import (
    Mentor,
    MentorTable,
    ReferralCriteria,
    VocabularyFull,
    Weights,
    exclusion_reasons,
)

log = logging.getLogger(__name__)
BLOCK = 64  # candidates whose load is read at once


def mentor_table(mentors: Iterable[Mentor], weights: Weights) -> MentorTable:
    """The mentors as a table for picking. A mentor whose tags no longer fit the table's masks
    (mentor registration refuses that) is left out, not the whole pick."""
    table = MentorTable(weights=weights)
    for mentor in mentors:
        try:
            table.upsert(mentor)
        except VocabularyFull:
            log.warning("mentor %s left out of matching: too many distinct tags", mentor.id)
    return table


class StaleRegistry(Exception):
    """The cached details of the chosen mentor are not the ones in the database."""


class CachedRegistry:
    """Mentor details as a ``MentorTable`` (every caseload 0), with the registry version."""

    def __init__(self, weights: Weights) -> None:
        self.table = MentorTable(weights=weights)
        self.version = 0
        self._versions: dict[str, int] = {}  # mentor id -> changed_version held

    def refresh(self, registry: MentorRepository) -> None:
        """Catch up with the registry version ``registry``'s transaction sees."""
        latest = registry.version()
        if latest <= self.version:
            return
        changed = registry.changed_between(self.version, latest)
        # No I/O below: a greenthread switch never shows a half-applied refresh. A concurrent
        # refresh may have applied newer details already; older ones never overwrite them.
        for mentor, changed_version in changed:
            if changed_version <= self._versions.get(mentor.id, 0):
                continue
            try:
                self.table.upsert(replace(mentor, caseload=0))
            except VocabularyFull:
                # Whatever the table holds of them is older than this version, so they are not
                # held current: a pick that reaches them goes to the database (StaleRegistry).
                log.warning("mentor %s left out of the cached registry: too many distinct tags", mentor.id)
                continue
            self._versions[mentor.id] = changed_version
        self.version = max(self.version, latest)

    def holds_current(self, mentor_id: str, changed_version: int) -> bool:
        return self._versions.get(mentor_id) == changed_version

    def pick(self, registry: MentorRepository, criteria: ReferralCriteria, *, today: date,
             exclude: set[str]) -> Mentor | None:
        """The best mentor with a place left, as the uncached ``MentorTable.pick`` would choose
        (ties: more places left, then the smaller id), read and checked in the caller's
        transaction; None when nobody fits. Raises ``StaleRegistry``: pick without the cache.

        One statement when the cache is current and the first block of candidates has a place.
        """
        found = self._pick(registry, criteria, today, exclude)
        if found is _MOVED:
            self.refresh(registry)
            found = self._pick(registry, criteria, today, exclude)
            if found is _MOVED:
                raise StaleRegistry("the registry changed again while picking")
        return found

    def _pick(self, registry: MentorRepository, criteria: ReferralCriteria, today: date,
              exclude: set[str]) -> Mentor | None | object:
        """The pick from the cache as it is; ``_MOVED`` when the registry is newer than it."""
        seen = self.version
        rows, scores = self.table.score(criteria, today=today, exclude=exclude)
        order = np.argsort(-scores, kind="stable")
        rows, ranked = rows[order], scores[order]
        start = 0
        while start < rows.size:
            end = min(start + BLOCK, rows.size)
            while end < rows.size and ranked[end] == ranked[end - 1]:
                end += 1  # a tie never straddles two blocks
            # Rows are never reused (the cache only upserts), so a refresh by another
            # greenthread during the query below cannot change whom a row stands for.
            ids = [self.table.mentor_at(int(r)).id for r in rows[start:end]]
            version, found = registry.candidates(ids)
            if version > seen:
                return _MOVED
            open_ = [(-float(score), -found[i].places_left, i)
                     for i, score in zip(ids, ranked[start:end], strict=True)
                     if i in found and found[i].places_left > 0]
            if open_:
                return self._checked(found[min(open_)[2]], criteria, today, exclude)
            start = end
        if registry.version() > seen:  # nobody fits the cache: is it current?
            return _MOVED
        return None

    def _checked(self, candidate: Candidate, criteria: ReferralCriteria, today: date,
                 exclude: set[str]) -> Mentor:
        if not self.holds_current(candidate.id, candidate.changed_version):
            raise StaleRegistry(candidate.id)
        # The details the cache holds are the row's: the same version of them. Places were just
        # counted by the same statement; every other rule is checked afresh on those details.
        mentor = self.table.mentor(candidate.id)
        if exclusion_reasons(mentor, criteria, today=today, excluded=exclude):
            raise StaleRegistry(candidate.id)
        return replace(mentor, caseload=candidate.caseload)


_MOVED = object()  # the registry is newer than the cache a pick scored with
