"""How long to wait before trying a failed delivery again, and when to give up.

This is about one message to one recipient (a webhook, an email, a text); retries of
event handlers inside the network are ``services.kit.retry``'s concern.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class DeliveryRetryPolicy:
    """Exponential backoff with jitter, bounded by ``cap`` and ``max_attempts``.

    The n-th retry waits between half and all of ``min(cap, base * 2**(n-1))``: the
    random half spreads out receivers that come back at the same moment, the fixed
    half keeps a struggling receiver from being hit again at once.
    """

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("base must be positive and cap at least base")

    def delay(self, attempts_made: int, rng: random.Random | None = None) -> timedelta:
        """The wait after ``attempts_made`` failed attempts (1 for the first failure).

        Pass a seeded ``random.Random`` to make the jitter reproducible.
        """
        if attempts_made < 1:
            raise ValueError("attempts_made counts failures so far, starting at 1")
        # Bounding the exponent first keeps 2**n from growing without need.
        ceiling = min(self.cap, self.base * 2 ** min(attempts_made - 1, 32))
        fraction = (rng or random).uniform(0.5, 1.0)
        return ceiling * fraction

    def next_attempt_at(
        self, attempts_made: int, failed_at: datetime, rng: random.Random | None = None
    ) -> datetime | None:
        """When to try again after a retryable failure, or ``None`` once attempts run out."""
        if attempts_made >= self.max_attempts:
            return None
        return failed_at + self.delay(attempts_made, rng)


@dataclass(frozen=True)
class DispatchPolicy:
    """How deliveries go out: retries, escalation delay, claim lease and batch size."""

    retry: DeliveryRetryPolicy = DeliveryRetryPolicy()
    escalate_after: timedelta = timedelta(minutes=30)
    lease: timedelta = timedelta(minutes=5)  # longer than any one send may take
    batch_size: int = 100
