"""When a message may go out, given the recipient's quiet hours.

Quiet hours are wall-clock times in the recipient's zone, so the end of a window
is found on the local calendar and only then converted to UTC: on a day when the
clocks change, "07:00" is still seven in the morning there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.notifications.domain.settings import QuietHours

# Quiet hours protect people's evenings; machines (webhooks) are not woken by them.
QUIET_CHANNELS = ("email", "sms")


def is_quiet(quiet_hours: QuietHours, at: datetime) -> bool:
    """Whether ``at`` (an aware datetime) falls inside the window, start included."""
    local = at.astimezone(ZoneInfo(quiet_hours.timezone)).time().replace(tzinfo=None)
    start, end = quiet_hours.start, quiet_hours.end
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window crosses midnight


def release_time(
    quiet_hours: QuietHours | None,
    urgency: str,
    now: datetime,
    channel: str = "email",
) -> datetime:
    """The UTC time from which the message may be sent: ``now`` or the window's end.

    Urgent messages, webhooks and recipients without quiet hours pass at once.
    Raises ``ValueError`` for a naive ``now``: a clock without a zone cannot be placed
    in the recipient's day.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    if quiet_hours is None or urgency == "urgent" or channel not in QUIET_CHANNELS:
        return now
    if not is_quiet(quiet_hours, now):
        return now
    zone = ZoneInfo(quiet_hours.timezone)
    local = now.astimezone(zone)
    day = local.date()
    if local.time().replace(tzinfo=None) >= quiet_hours.end:
        day += timedelta(days=1)  # evening part of a window that ends tomorrow morning
    # Combining on the calendar (not adding hours) keeps the wall clock right across
    # DST; a time skipped by spring-forward resolves to just after the gap.
    end = datetime.combine(day, quiet_hours.end, tzinfo=zone).astimezone(UTC)
    return max(end, now)
