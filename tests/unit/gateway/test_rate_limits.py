"""Per-agency token buckets: a burst, a steady refill, a Retry-After that says when to come back."""

from __future__ import annotations

import pytest

from gateway.exceptions import RateLimited
from gateway.limits import TokenBuckets


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
