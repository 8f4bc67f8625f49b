"""Soft factors over the mentor table's numpy columns: the vectorized twin of ``scoring``.

Candidates are scored in blocks so that temporaries stay small and are reused rather than freshly
mapped on every call (fresh memory is what is slow on these machines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from services.kit.vocabulary import PATHWAYS, SLOTS
from services.matching.domain import geo, model, scoring
from services.matching.domain.encoding import Codes, closed_bits, overlap, slot_overlap
from services.matching.domain.model import ReferralCriteria

_BLOCK = 8192  # candidates per pass


@dataclass(frozen=True)
class _Wants:
    """A referral's soft criteria, encoded once for every block of mentors."""

    pathways: int
    lived: int
    lived_count: int
    age_band: int | None
    slots: int
    gender: int | None  # code of the preferred gender (-2: nobody has it), None: no preference

    @classmethod
    def of(cls, criteria: ReferralCriteria, codes: Mapping[str, Codes]) -> _Wants:
        preferred = criteria.mentor_gender
        return cls(
            pathways=closed_bits(criteria.pathways, PATHWAYS),
            lived=codes["lived"].bits(criteria.lived_experience),
            lived_count=len(criteria.lived_experience),
            age_band=criteria.age_band,
            slots=closed_bits(criteria.availability, SLOTS),
            gender=None if preferred is None else codes["gender"].get(preferred, -2),
        )


def soft_scores(cols: Mapping[str, np.ndarray], codes: Mapping[str, Codes],
                weights: tuple[float, ...], rows: np.ndarray, dot: np.ndarray,
                criteria: ReferralCriteria, *, out: np.ndarray) -> np.ndarray:
    """Compatibility of the mentors in ``rows`` (the table's columns), written into ``out``.

    ``dot`` is each row's position dotted with the referral's (NaN when either is unknown);
    ``weights`` are normalised, in ``scoring.FACTORS`` order. Hard rules are not applied here.
    """
    wants = _Wants.of(criteria, codes)
    for start in range(0, rows.size, _BLOCK):
        part = slice(start, start + _BLOCK)
        _score_block(cols, weights, rows[part], dot[part], wants, out[part])
    return out


def _score_block(c: Mapping[str, np.ndarray], weights: tuple[float, ...], rows: np.ndarray,
                 dot: np.ndarray, wants: _Wants, total: np.ndarray) -> None:
    # Same formulas and order of operations as ``scoring``, so the numbers agree.
    neutral = scoring.NEUTRAL
    w_path, w_lived, w_age, w_slots, w_distance, w_gender = weights
    if wants.pathways:
        np.multiply(w_path, overlap(c["path"].take(rows), wants.pathways)
                    / wants.pathways.bit_count(), out=total)
    else:
        total.fill(w_path * neutral)
    if wants.lived_count:
        total += w_lived * (overlap(c["lived"].take(rows), wants.lived) / wants.lived_count)
    else:
        total += w_lived * neutral
    if wants.age_band is None:
        total += w_age * neutral
    else:
        band = c["band"].take(rows).astype(np.float64)
        span = model.AGE_BAND_YEARS * scoring.AGE_SPAN_BANDS
        close = np.maximum(0.0, 1.0 - np.abs(band - wants.age_band) / span)
        close[band < 0] = neutral
        total += w_age * close
    if wants.slots:
        total += w_slots * slot_overlap(c["avail"].take(rows), wants.slots)
    else:
        total += w_slots * neutral
    near = np.maximum(0.0, 1.0 - geo.km_for_dot(dot) / scoring.DISTANCE_SCALE_KM)
    near[np.isnan(dot)] = neutral
    total += w_distance * near
    if wants.gender is None:
        total += w_gender * neutral
    else:
        total += w_gender * (c["gender"].take(rows) == wants.gender)
