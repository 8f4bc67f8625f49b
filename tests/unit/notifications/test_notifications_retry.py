"""Retry policy and the delivery model, on a fake clock."""

import random
from datetime import timedelta

import pytest
from notification_builders import NOW

from services.notifications.domain.delivery import (
    DEFERRED,
    FAILED,
    PENDING,
    SENT,
    Delivery,
    DeliveryClosed,
    delivery_id,
    delivery_key,
)
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.retry import DeliveryRetryPolicy

POLICY = DeliveryRetryPolicy()
BUSY = SendOutcome.from_http_status(503)


def test_defaults_are_six_attempts_two_seconds_base_ten_minutes_cap():
    assert (POLICY.max_attempts, POLICY.base, POLICY.cap) == (
        6, timedelta(seconds=2), timedelta(minutes=10))


def test_backoff_doubles_within_jitter_and_stops_at_the_cap():
    rng = random.Random(1)
    for failures in range(1, 15):
        ceiling = min(timedelta(minutes=10), timedelta(seconds=2) * 2 ** (failures - 1))
        assert ceiling / 2 <= POLICY.delay(failures, rng) <= ceiling


def test_same_random_source_gives_the_same_delays():
    first = [POLICY.delay(n, random.Random(42)) for n in range(1, 6)]
    again = [POLICY.delay(n, random.Random(42)) for n in range(1, 6)]
    assert first == again


def test_no_next_attempt_once_attempts_run_out():
    policy = DeliveryRetryPolicy(max_attempts=3)
    assert policy.next_attempt_at(2, NOW) is not None
    assert policy.next_attempt_at(3, NOW) is None


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base": timedelta(0)},
                                    {"base": timedelta(seconds=5), "cap": timedelta(seconds=1)}])
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        DeliveryRetryPolicy(**kwargs)


def test_one_event_agency_and_channel_is_one_delivery():
    assert delivery_key("ev-1", "ag-1", "email") == delivery_key("ev-1", "ag-1", "email")
    assert delivery_key("ev-1", "ag-1", "email") != delivery_key("ev-1", "ag-1", "sms")
    assert delivery_id("ev-1", "ag-1", "email") == delivery_id("ev-1", "ag-1", "email")
    a = Delivery.create("ev-1", "match.proposed", "ag-1", "email", NOW)
    b = Delivery.create("ev-1", "match.proposed", "ag-1", "email", NOW + timedelta(hours=1))
    assert (a.id, a.key) == (b.id, b.key)


def test_delivery_waiting_for_quiet_hours_is_deferred_until_then():
    later = NOW + timedelta(hours=8)
    d = Delivery.create("ev-1", "match.proposed", "ag-1", "email", NOW, send_at=later)
    assert d.status == DEFERRED and not d.is_due(NOW) and d.is_due(later)


def test_retryable_failure_waits_then_success_is_final():
    d = Delivery.create("ev-1", "match.proposed", "ag-1", "webhook", NOW)
    d.record_attempt(BUSY, NOW, POLICY, random.Random(3))
    assert d.status == PENDING and NOW + timedelta(seconds=1) <= d.next_attempt_at
    assert not d.is_due(NOW)
    d.record_attempt(SendOutcome.sent(http_status=200), d.next_attempt_at, POLICY)
    assert d.status == SENT and d.next_attempt_at is None and not d.is_due(NOW + timedelta(days=1))
    with pytest.raises(DeliveryClosed):
        d.record_attempt(SendOutcome.sent(), NOW, POLICY)


def test_permanent_failure_ends_at_once_with_the_reason_logged():
    d = Delivery.create("ev-1", "match.proposed", "ag-1", "webhook", NOW)
    d.record_attempt(SendOutcome.from_http_status(404), NOW, POLICY)
    assert d.status == FAILED
    [attempt] = d.attempts
    assert (attempt.outcome, attempt.http_status, attempt.error) == ("error", 404, "HTTP 404")
    assert d.events[0].type == "notification.failed"
    assert d.events[0].payload == {"notification_id": d.id, "agency_id": "ag-1",
                                   "channel": "webhook", "attempts": 1, "event_id": "ev-1",
                                   "event_type": "match.proposed"}


def test_log_entry_round_trips():
    d = Delivery.create("ev-1", "match.proposed", "ag-1", "sms", NOW)
    d.record_attempt(BUSY, NOW, POLICY, random.Random(0))
    again = Delivery.from_log_entry(d.to_log_entry())
    assert again == d and again.to_log_entry() == d.to_log_entry()
