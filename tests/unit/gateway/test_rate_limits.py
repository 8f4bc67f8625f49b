"""Per-agency token buckets: a burst, a steady refill, a Retry-After that says when to come back."""

from __future__ import annotations

import pytest

from gateway.exceptions import RateLimited
from gateway.limits import RequestLimits, TokenBuckets


def test_an_agency_may_send_its_burst_at_once_and_then_waits_for_a_token():
    buckets = TokenBuckets(per_second=2, burst=3)
    for _ in range(3):
        buckets.take("clinic", now=100.0)
    with pytest.raises(RateLimited) as limited:
        buckets.take("clinic", now=100.0)
    assert limited.value.retry_after == 1 and limited.value.code == "rate_limited"
    buckets.take("clinic", now=100.5)  # half a second at 2/s is one token back
    with pytest.raises(RateLimited):
        buckets.take("clinic", now=100.5)


def test_retry_after_is_the_whole_seconds_until_a_token_is_back():
    buckets = TokenBuckets(per_second=0.1, burst=1)
    buckets.take("clinic", now=0.0)
    with pytest.raises(RateLimited) as limited:
        buckets.take("clinic", now=2.0)
    assert limited.value.retry_after == 8


def test_each_agency_has_its_own_bucket_and_an_idle_one_refills_only_to_its_burst():
    buckets = TokenBuckets(per_second=1, burst=2)
    buckets.take("busy", now=0.0)
    buckets.take("busy", now=0.0)
    buckets.take("calm", now=0.0)  # another agency is not held back
    for _ in range(2):
        buckets.take("busy", now=1000.0)
    with pytest.raises(RateLimited):
        buckets.take("busy", now=1000.0)


@pytest.mark.parametrize("per_second,burst", [(0, 5), (1, 0)])
def test_a_limit_that_would_refuse_everything_is_a_configuration_error(per_second, burst):
    with pytest.raises(ValueError):
        TokenBuckets(per_second=per_second, burst=burst)


def limits(person_burst: int = 2, agency_burst: int = 10) -> RequestLimits:
    return RequestLimits(TokenBuckets(per_second=1, burst=agency_burst),
                         TokenBuckets(per_second=1, burst=person_burst, whose="person"))


def test_a_person_has_a_bucket_of_their_own_within_the_agency():
    both = limits(person_burst=2)
    both.take("clinic", "person:p-1", now=0.0)
    both.take("clinic", "person:p-1", now=0.0)
    with pytest.raises(RateLimited) as limited:
        both.take("clinic", "person:p-1", now=0.0)
    assert "person" in str(limited.value) and limited.value.retry_after == 1
    both.take("clinic", "person:p-2", now=0.0)  # a colleague is not held back
    both.take("clinic", "key:intake", now=0.0)  # nor the agency's keys


def test_a_request_refused_for_the_person_takes_nothing_from_the_agency():
    both = limits(person_burst=1, agency_burst=2)
    both.take("clinic", "person:p-1", now=0.0)
    for _ in range(3):
        with pytest.raises(RateLimited):
            both.take("clinic", "person:p-1", now=0.0)
    both.take("clinic", "key:intake", now=0.0)  # the agency's second token is still there
    with pytest.raises(RateLimited):
        both.take("clinic", "key:intake", now=0.0)


def test_people_of_an_agency_together_stay_within_its_limit():
    both = limits(person_burst=5, agency_burst=3)
    for n in range(3):
        both.take("clinic", f"person:p-{n}", now=0.0)
    with pytest.raises(RateLimited) as limited:
        both.take("clinic", "person:p-9", now=0.0)
    assert "agency" in str(limited.value)
