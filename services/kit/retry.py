"""Retry settings for event consumers, from service config ``EVENT_RETRY``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.kit import topology


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_ms: int = 1000

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RetryPolicy:
        raw = config.get("EVENT_RETRY") or {}
        return cls(
            max_attempts=int(raw.get("max_attempts", cls.max_attempts)),
            base_delay_ms=int(raw.get("base_delay_ms", cls.base_delay_ms)),
        )

    @property
    def delays_ms(self) -> list[int]:
        return topology.retry_delays(self.max_attempts, self.base_delay_ms)

    def delay_before(self, attempt: int) -> int:
        """Delay before ``attempt`` (2 or more)."""
        return self.delays_ms[attempt - 2]
