"""Cadence and contact windows, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from services.engagement.domain.schedule import ContactWindow, first_checkin, next_checkin, zone_of

NEW_YORK = ContactWindow(time(9, 0), time(20, 0), "America/New_York")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_inside_the_window_a_checkin_goes_at_once():
    now = at("2026-12-02T15:00:00+00:00")  # 10:00 in New York
    assert first_checkin(now, NEW_YORK) == now


def test_before_the_window_it_waits_for_the_opening_that_day():
    now = at("2026-12-02T12:00:00+00:00")  # 07:00 in New York
    assert first_checkin(now, NEW_YORK) == at("2026-12-02T09:00:00-05:00")


def test_after_the_window_it_waits_for_the_next_morning():
    now = at("2026-12-03T02:30:00+00:00")  # 21:30 on the 2nd in New York
    assert first_checkin(now, NEW_YORK) == at("2026-12-03T09:00:00-05:00")


def test_weekly_cadence_then_into_the_window():
    sent = at("2026-12-02T19:59:00-05:00")
    assert next_checkin(sent, 7, NEW_YORK) == at("2026-12-09T19:59:00-05:00")
    late = at("2026-12-02T23:00:00-05:00")  # cannot happen by the timer, but is moved all the same
    assert next_checkin(late, 7, NEW_YORK) == at("2026-12-10T09:00:00-05:00")


def test_daylight_saving_keeps_local_hours():
    sent = at("2027-03-10T10:00:00-05:00")  # before the change on March 14
    due = next_checkin(sent, 7, NEW_YORK)
    assert due == at("2027-03-17T10:00:00-04:00")
    assert NEW_YORK.contains(due)


def test_a_window_past_midnight():
    night = ContactWindow(time(20, 0), time(2, 0), "UTC")
    assert night.contains(at("2026-12-02T23:00:00+00:00"))
    assert night.contains(at("2026-12-03T01:59:00+00:00"))
    assert not night.contains(at("2026-12-03T02:00:00+00:00"))
    assert night.next_open(at("2026-12-03T03:00:00+00:00")) == at("2026-12-03T20:00:00+00:00")


@pytest.mark.parametrize("name", ["", "America", "America/", "Nope/Zone", "../etc/passwd", "UTC\x00"])
def test_an_unknown_time_zone_is_a_value_error(name):
    with pytest.raises(ValueError):
        zone_of(name)


def test_cadence_per_referral():
    sent = at("2026-12-02T15:00:00+00:00")
    assert next_checkin(sent, 3, NEW_YORK) - sent == timedelta(days=3)
