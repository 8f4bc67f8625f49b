"""The mentor ladder: levels, the caseload cap of each level, and certification reminders.

A mentor's effective capacity is the smaller of their own ``capacity`` and their level's cap:
a trainee who offers five places still takes no more than the trainee cap. A mentor registered
without a level (as every mentor was before the ladder) is bound by their own capacity only. The caps are a
deployment's choice (``LEVEL_CAPS`` in config). Certification expiry reminders go out at the
``REMINDER_DAYS`` thresholds before ``certified_until``, once per mentor, threshold and date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

LEVELS = ("trainee", "certified", "senior")
DEFAULT_CAPS: Mapping[str, int] = {"trainee": 2, "certified": 5, "senior": 8}
REMINDER_DAYS = (30, 7)


@dataclass(frozen=True)
class LevelCaps:
    """The caseload cap of every level."""

    caps: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CAPS))

    def __post_init__(self) -> None:
        unknown = set(self.caps) - set(LEVELS)
        if unknown:
            raise ValueError(f"unknown mentor levels: {sorted(unknown)}")
        missing = set(LEVELS) - set(self.caps)
        if missing:
            raise ValueError(f"no caseload cap for levels: {sorted(missing)}")
        if any(int(cap) < 0 for cap in self.caps.values()):
            raise ValueError(f"caseload caps cannot be negative: {dict(self.caps)}")

    @classmethod
    def from_dict(cls, config: Mapping[str, Any] | None) -> LevelCaps:
        """Defaults overridden by ``config``; an unknown level or a negative cap raises ``ValueError``."""
        return cls({**DEFAULT_CAPS, **{k: int(v) for k, v in dict(config or {}).items()}})

    def cap(self, level: str | None) -> int | None:
        """The level's cap; None for a mentor not placed on the ladder (own capacity only)."""
        return None if level is None else int(self.caps[level])


DEFAULT_LEVEL_CAPS = LevelCaps()


def effective_capacity(capacity: int, cap: int | None) -> int:
    """The places a mentor can hold: their own capacity, no more than their level's cap."""
    return capacity if cap is None else min(capacity, cap)


def reminder_threshold(certified_until: date, today: date,
                       thresholds: Iterable[int] = REMINDER_DAYS) -> int | None:
    """The threshold (days before expiry) whose reminder is due today, or None.

    The smallest threshold not yet passed that the days left have reached: 40 days left is
    none, 30..8 days is 30, 7..0 days is 7; an expired certification gets no reminder.
    """
    left = (certified_until - today).days
    if left < 0:
        return None
    reached = [t for t in thresholds if left <= t]
    return min(reached) if reached else None
