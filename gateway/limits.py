"""Rate limits: a token bucket for each agency and one for each signed-in person, in the memory
of one gateway process.

Each authenticated request takes a token from its agency's bucket and, for a person's session,
first one from that person's own (smaller) bucket, so one busy person cannot use up their
agency's requests; a bucket holds at most ``burst`` tokens and refills at ``per_second``. An empty
bucket answers 429 with ``Retry-After`` (the seconds until a token is back). With several gateway
replicas each keeps its own buckets, so a limit may be reached once per replica: a bound against
a runaway client, not a quota.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gateway.exceptions import RateLimited


@dataclass
class _Bucket:
    tokens: float
    at: float  # monotonic seconds of the last refill


class TokenBuckets:
    """One bucket per key (an agency id). Not thread-safe: the gateway's workers are green
    threads, and ``take`` never yields."""

    def __init__(self, per_second: float, burst: int, whose: str = "agency") -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_second > 0 and burst >= 1")
        self.per_second, self.burst, self.whose = per_second, burst, whose
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> None:
        """Take one token for ``key`` at monotonic time ``now``.

        Raises ``RateLimited`` with ``retry_after`` (whole seconds, at least 1) when none is left.
        """
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_second)
        bucket.at = now
        if bucket.tokens < 1:
            wait = (1 - bucket.tokens) / self.per_second
            raise RateLimited(f"Too many requests for this {self.whose}; retry later.",
                              retry_after=max(1, math.ceil(wait)))
        bucket.tokens -= 1


class RequestLimits:
    """The agency's bucket, and a signed-in person's own bucket before it."""

    def __init__(self, agencies: TokenBuckets, people: TokenBuckets) -> None:
        self.agencies, self.people = agencies, people

    def take(self, agency_id: str, actor: str, now: float) -> None:
        """Take a token for the request of ``actor`` (``person:<id>`` has its own bucket) in
        ``agency_id`` at monotonic ``now``; ``RateLimited`` when either bucket is empty (a refused
        person's request takes nothing from the agency)."""
        if actor.startswith("person:"):
            self.people.take(actor, now)
        self.agencies.take(agency_id, now)
