"""Quiet hours: routine messages wait for the recipient's morning, urgent ones do not."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain.quiet_hours import is_quiet, release_time
from services.notifications.domain.settings import QuietHours

NIGHT = QuietHours.parse("21:00", "07:00", "America/New_York")  # crosses midnight
LUNCH = QuietHours.parse("12:00", "13:30", "Europe/Madrid")
NIGHT_ZONE = ZoneInfo("America/New_York")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_routine_message_in_the_evening_waits_until_seven_next_morning():
    # 23:00 in New York on 3 November 2026 (EST, UTC-5) is 04:00 UTC on the 4th.
    assert release_time(NIGHT, "routine", utc(2026, 11, 4, 4, 0)) == utc(2026, 11, 4, 12, 0)


def test_routine_message_after_midnight_waits_until_seven_the_same_morning():
    assert release_time(NIGHT, "routine", utc(2026, 11, 4, 8, 30)) == utc(2026, 11, 4, 12, 0)


def test_urgent_message_passes_at_once():
    now = utc(2026, 11, 4, 4, 0)
    assert release_time(NIGHT, "urgent", now) == now


def test_outside_the_window_a_routine_message_goes_now():
    now = utc(2026, 11, 4, 17, 0)  # noon in New York
    assert release_time(NIGHT, "routine", now) == now


@pytest.mark.parametrize("local_hour, minute, quiet", [
    (20, 59, False), (21, 0, True), (23, 59, True), (0, 0, True), (6, 59, True), (7, 0, False),
])
def test_window_edges_start_included_end_excluded(local_hour, minute, quiet):
    # 3 November 2026 in New York is UTC-5.
    at = datetime(2026, 11, 3, local_hour, minute, tzinfo=NIGHT_ZONE).astimezone(UTC)
    assert is_quiet(NIGHT, at) is quiet


def test_a_window_within_one_day():
    # 12:30 in Madrid (CET, UTC+1) on 3 November.
    assert release_time(LUNCH, "routine", utc(2026, 11, 3, 11, 30)) == utc(2026, 11, 3, 12, 30)
    assert release_time(LUNCH, "routine", utc(2026, 11, 3, 13, 0)) == utc(2026, 11, 3, 13, 0)


def test_spring_forward_night_ends_at_seven_local_not_after_a_fixed_number_of_hours():
    # 8 March 2026: New York jumps from 02:00 EST to 03:00 EDT. At 01:00 EST (06:00 UTC)
    # the window ends at 07:00 EDT = 11:00 UTC, five hours later, not six.
    assert release_time(NIGHT, "routine", utc(2026, 3, 8, 6, 0)) == utc(2026, 3, 8, 11, 0)


def test_fall_back_night_ends_at_seven_local():
    # 1 November 2026: 02:00 EDT falls back to 01:00 EST. From 01:30 EDT (05:30 UTC) the
    # window ends at 07:00 EST = 12:00 UTC.
    assert release_time(NIGHT, "routine", utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 1, 12, 0)


def test_evening_before_a_dst_change_waits_until_seven_after_it():
    # 22:00 EST on 7 March 2026 (03:00 UTC on the 8th) -> 07:00 EDT on the 8th.
    assert release_time(NIGHT, "routine", utc(2026, 3, 8, 3, 0)) == utc(2026, 3, 8, 11, 0)


def test_webhooks_are_not_held_by_quiet_hours():
    now = utc(2026, 11, 4, 4, 0)
    assert release_time(NIGHT, "routine", now, channel="webhook") == now
    assert release_time(NIGHT, "routine", now, channel="sms") == utc(2026, 11, 4, 12, 0)


def test_no_quiet_hours_means_now_and_a_naive_clock_is_refused():
    now = utc(2026, 11, 4, 4, 0)
    assert release_time(None, "routine", now) == now
    with pytest.raises(ValueError):
        release_time(NIGHT, "routine", datetime(2026, 11, 4, 4, 0))
