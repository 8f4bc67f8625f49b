"""When a check-in may go out: every ``cadence_days`` after the last, inside the contact window.

The window is the participant's local hours (``start``-``end``, ``HH:MM``, in ``timezone``, an
IANA name). A window whose end is before its start runs past midnight (``20:00``-``02:00``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_CADENCE_DAYS = 7


@dataclass(frozen=True)
class ContactWindow:
    start: time = time(9, 0)
    end: time = time(20, 0)
    timezone: str = "America/New_York"

    @classmethod
    def from_record(cls, record: dict | None) -> ContactWindow:
        if not record:
            return cls()
        return cls(time.fromisoformat(record["start"]), time.fromisoformat(record["end"]),
                    record.get("timezone") or cls.timezone)

    def to_record(self) -> dict[str, str]:
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M"),
                "timezone": self.timezone}

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)

    def contains(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_open(self, instant: datetime) -> datetime:
        """``instant`` if the window is open then, else the next time it opens (in UTC)."""
        if self.contains(instant):
            return instant
        local = instant.astimezone(self.zone)
        opening = datetime.combine(local.date(), self.start, tzinfo=self.zone)
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), self.start, tzinfo=self.zone)
        return opening.astimezone(UTC)


def zone_of(name: str) -> ZoneInfo:
    """The time zone; ``ValueError`` for a name the system does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: a folder ("America")
        raise ValueError(f"Unknown time zone: {name}") from error


def first_checkin(now: datetime, window: ContactWindow) -> datetime:
    """The first check-in: as soon as the window is open."""
    return window.next_open(now)


def next_checkin(sent_at: datetime, cadence_days: int, window: ContactWindow) -> datetime:
    """The check-in after one sent at ``sent_at``: a cadence later on the participant's clock (the
    same local hour across a daylight saving change), moved into the window."""
    local = sent_at.astimezone(window.zone)
    later = (local.replace(tzinfo=None) + timedelta(days=cadence_days)).replace(tzinfo=window.zone)
    return window.next_open(later.astimezone(UTC))
