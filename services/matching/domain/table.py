"""The mentor registry as numpy columns, for scoring one referral against every mentor at once.

Tag sets are bitmasks (languages, pathways, lived experience, availability slots), positions are
unit vectors (the radius rule is one dot product), and "active, certified, capacity left" is one
column (``open_until``), so a referral costs a handful of array operations: about a millisecond
for 100,000 mentors.
The numbers equal those of ``scoring`` (tested); rows are updated in place when a mentor or their
caseload changes. Not thread-safe: one table per worker, or a lock around updates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from services.kit.vocabulary import PATHWAYS, SLOTS
from services.matching.domain import geo, scoring
from services.matching.domain.encoding import Codes, closed_bits
from services.matching.domain.model import Mentor, ReferralCriteria
from services.matching.domain.soft_factors import soft_scores

_CLOSED = np.int32(np.iinfo(np.int32).min)  # open_until of a row nobody may be matched with
_COLUMNS = {
    "open_until": np.int32, "capacity": np.int32, "caseload": np.int32, "lang": np.uint64,
    "lived": np.uint64, "path": np.uint8, "avail": np.uint32, "agency": np.int32,
    "kind": np.int16, "gender": np.int16, "band": np.int16, "reach_cos": np.float64,
    "remote": np.bool_,
}


def _scratch(size: int) -> dict[str, np.ndarray]:
    types = {"ok": np.bool_, "test": np.bool_, "either": np.bool_, "bits": np.uint64,
             "dot": np.float64, "near": np.float64, "scores": np.float64}
    return {name: np.zeros(size, t) for name, t in types.items()}


@dataclass(frozen=True)
class Pick:
    row: int
    mentor_id: str
    agency_id: str
    score: float


class MentorTable:
    """Mentors as columns; ``score`` and ``pick`` apply the hard rules and soft factors."""

    def __init__(self, mentors: Iterable[Mentor] = (), *,
                 weights: scoring.Weights = scoring.DEFAULT_WEIGHTS, reserve: int = 1024) -> None:
        self.weights = weights
        self._weights = weights.normalized()
        self._mentors: list[Mentor | None] = []
        self._row_of: dict[str, int] = {}
        self._free: list[int] = []
        self._codes = {k: Codes() for k in ("lang", "lived", "agency", "kind", "gender")}
        self._cols = {k: np.zeros(max(reserve, 1), t) for k, t in _COLUMNS.items()}
        self._cols["open_until"][:] = _CLOSED
        self._pos = np.full((3, max(reserve, 1)), np.nan)  # x, y, z rows: a fast mat-vec
        self._scratch = _scratch(self._pos.shape[1])
        for mentor in mentors:
            self.upsert(mentor)

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, mentor_id: object) -> bool:
        return mentor_id in self._row_of

    @property
    def rows(self) -> int:
        """Rows in use, including holes left by removed mentors."""
        return len(self._mentors)

    def mentor(self, mentor_id: str) -> Mentor:
        """The stored mentor; ``KeyError`` for an unknown id."""
        return self._mentors[self._row_of[mentor_id]]

    def mentor_at(self, row: int) -> Mentor:
        """The mentor in a row that ``score``, ``pick`` or the solver returned."""
        return self._mentors[row]

    def capacity_left(self) -> np.ndarray:
        """Places left per row (0 for holes); a copy, safe to spend in a solver."""
        n = self.rows
        left = self._cols["capacity"][:n] - self._cols["caseload"][:n]
        return np.where(self._cols["open_until"][:n] == _CLOSED, 0, np.maximum(left, 0))

    def upsert(self, mentor: Mentor) -> int:
        """Add or replace a mentor; returns the row. Raises ``VocabularyFull`` (see there),
        leaving the table as it was apart from codes for tags that did fit."""
        codes, loc = self._codes, mentor.location
        values = {  # encoded first, so a refusal leaves no half-written row
            "lang": codes["lang"].bits(mentor.languages, grow=True, what="languages"),
            "lived": codes["lived"].bits(mentor.lived_experience, grow=True,
                                         what="lived-experience tags"),
            "path": closed_bits(mentor.pathways, PATHWAYS),
            "avail": closed_bits(mentor.availability, SLOTS),
            "agency": codes["agency"].code(mentor.agency_id),
            "kind": codes["kind"].code(mentor.agency_kind),
            "gender": -1 if mentor.gender is None else codes["gender"].code(mentor.gender),
            "band": -1 if mentor.age_band is None else mentor.age_band,
            "reach_cos": geo.cos_reach(mentor.radius_km),
            "remote": mentor.remote_ok,
        }
        row = self._row_of.get(mentor.id)
        if row is None:
            row = self._free.pop() if self._free else self._append()
        for name, value in values.items():
            self._cols[name][row] = value
        self._pos[:, row] = np.nan if loc is None else geo.unit_vector(loc.lat, loc.lon)
        self._mentors[row] = mentor
        self._row_of[mentor.id] = row
        self._set_load(row, mentor)
        return row

    def set_caseload(self, mentor_id: str, caseload: int) -> None:
        """Record a mentor's current caseload (after an accept, a close, a withdrawal)."""
        row = self._row_of[mentor_id]
        mentor = replace(self._mentors[row], caseload=caseload)
        self._mentors[row] = mentor
        self._set_load(row, mentor)

    def remove(self, mentor_id: str) -> None:
        """Forget a mentor; the row is reused by the next new one. ``KeyError`` if unknown."""
        row = self._row_of.pop(mentor_id)
        self._mentors[row] = None
        self._cols["open_until"][row] = _CLOSED
        self._free.append(row)

    def _set_load(self, row: int, mentor: Mentor) -> None:
        c = self._cols
        c["capacity"][row], c["caseload"][row] = mentor.effective_capacity, mentor.caseload
        is_open = mentor.active and mentor.capacity_left > 0
        c["open_until"][row] = mentor.certified_until.toordinal() if is_open else _CLOSED

    def _append(self) -> int:
        row = len(self._mentors)
        if row == self._pos.shape[1]:  # double, so a bulk load stays linear
            for name, col in self._cols.items():
                self._cols[name] = np.concatenate([col, np.zeros_like(col)])
            self._cols["open_until"][row:] = _CLOSED
            self._pos = np.concatenate([self._pos, np.full_like(self._pos, np.nan)], axis=1)
            self._scratch = _scratch(self._pos.shape[1])
        self._mentors.append(None)
        return row

    def score(self, criteria: ReferralCriteria, *, today: date,
              exclude: Iterable[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the mentors allowed for this referral, and their compatibility (float64)."""
        rows, scores = self._score(criteria, today, exclude)
        return rows, scores.copy()

    def pick(self, criteria: ReferralCriteria, *, today: date,
             exclude: Iterable[str] = ()) -> Pick | None:
        """The best allowed mentor, or None; ties go to more capacity left, then the smaller id."""
        rows, scores = self._score(criteria, today, exclude)
        if rows.size == 0:
            return None
        best = scores.max()
        tied = rows[scores == best]
        if tied.size > 1:
            left = self._cols["capacity"][tied] - self._cols["caseload"][tied]
            tied = tied[left == left.max()]
        row = int(min(tied, key=lambda r: self._mentors[r].id))
        mentor = self._mentors[row]
        return Pick(row, mentor.id, mentor.agency_id, float(best))

    def _score(self, criteria: ReferralCriteria, today: date,
               exclude: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        rows, dot = self._allowed(criteria, today, exclude)
        scores = self._scratch["scores"][:rows.size]
        return rows, soft_scores(self._cols, self._codes, self._weights, rows, dot, criteria,
                                 out=scores)

    def _allowed(self, criteria: ReferralCriteria, today: date,
                 exclude: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Allowed rows and the dot product of their position with the referral's (NaN if
        unknown); the second is a view of a scratch buffer that the next call overwrites."""
        n, c, codes, scratch = self.rows, self._cols, self._codes, self._scratch
        # Scratch buffers, not fresh arrays: first touches of new memory are what costs here.
        ok, test, either, bits, dot = (scratch[k][:n] for k in ("ok", "test", "either", "bits",
                                                                  "dot"))
        np.greater_equal(c["open_until"][:n], today.toordinal(), out=ok)
        np.bitwise_and(c["lang"][:n], np.uint64(codes["lang"].bits(criteria.languages)), out=bits)
        ok &= np.not_equal(bits, 0, out=test)
        kinds = [codes["kind"][k] for k in criteria.allowed_classes if k in codes["kind"]]
        if len(kinds) < len(codes["kind"]):  # some mentors' kinds are not covered wholesale
            agency_ok = np.zeros(len(codes["agency"]) + 1, bool)
            agency_ok[[codes["agency"][a] for a in criteria.allowed_agencies
                       if a in codes["agency"]]] = True
            kind_ok = np.zeros(len(codes["kind"]) + 1, bool)
            kind_ok[kinds] = True
            np.take(agency_ok, c["agency"][:n], out=test)
            ok &= np.logical_or(test, np.take(kind_ok, c["kind"][:n], out=either), out=test)
        if criteria.mentor_gender_required:
            code = codes["gender"].get(criteria.mentor_gender, -2)
            ok &= np.equal(c["gender"][:n], code, out=test)
        for mentor_id in exclude:
            if mentor_id in self._row_of:
                ok[self._row_of[mentor_id]] = False
        if criteria.location is None:
            ok &= c["remote"][:n] if criteria.remote_ok else False
            dot.fill(np.nan)
        else:
            here = geo.unit_vector(criteria.location.lat, criteria.location.lon)
            np.matmul(here, self._pos[:, :n], out=dot)  # NaN without a location: never "near"
            near = np.greater_equal(dot, c["reach_cos"][:n], out=test)
            ok &= np.logical_or(near, c["remote"][:n], out=near) if criteria.remote_ok else near
        rows = np.flatnonzero(ok)
        return rows, np.take(dot, rows, out=scratch["near"][:rows.size])
