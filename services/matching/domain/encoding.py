"""Tag sets as integer bitmasks, so set overlaps become ``&`` and popcounts over numpy columns."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from services.kit.vocabulary import SLOTS
from services.matching.domain.scoring import slot_weight

HEAVY_SLOTS = sum(1 << i for i, s in enumerate(SLOTS) if slot_weight(s) > 1)
MAX_TAGS = 64  # one uint64 column per open vocabulary


class VocabularyFull(ValueError):
    """More distinct languages (or lived-experience tags) than one 64-bit mask holds."""


class Codes(dict):
    """Small integer codes for open vocabularies (agencies, genders, tags), in order of arrival."""

    def code(self, key: str) -> int:
        return self.setdefault(key, len(self))

    def bits(self, tags: Iterable[str], *, grow: bool = False, what: str = "tags") -> int:
        """Mask of ``tags``; with ``grow`` new tags get a bit, or ``VocabularyFull`` is raised.

        Without ``grow`` a tag nobody has yet is skipped: it cannot match anyone anyway.
        """
        mask = 0
        for tag in tags:
            if grow and tag not in self:
                if len(self) == MAX_TAGS:
                    raise VocabularyFull(f"more than {MAX_TAGS} distinct {what}")
                self.code(tag)
            if tag in self:
                mask |= 1 << self[tag]
        return mask


def closed_bits(tags: Iterable[str], vocabulary: tuple[str, ...]) -> int:
    """Mask of tags from a closed vocabulary (pathways, slots); ``ValueError`` if unknown."""
    return sum(1 << vocabulary.index(t) for t in set(tags))


def overlap(masks: np.ndarray, wanted: int) -> np.ndarray:
    """Per row, how many of the ``wanted`` bits it has (as float64, ready to divide)."""
    return np.bitwise_count(masks & masks.dtype.type(wanted)).astype(np.float64)


def slot_overlap(masks: np.ndarray, wanted: int) -> np.ndarray:
    """Weighted share of the wanted slots each row offers (evenings and weekends count more)."""
    heavy = wanted & HEAVY_SLOTS
    met = overlap(masks, wanted) + overlap(masks, heavy)
    return met / (wanted.bit_count() + heavy.bit_count())
