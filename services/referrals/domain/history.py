"""One step in a referral's history, as the referrer and the assigned peer group see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class HistoryEntry:
    status: str
    at: datetime
    by: str  # agency id, or rules.NETWORK for what the network did by itself
    reason: str | None = None
    reason_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "at": self.at.isoformat(), "by": self.by,
                "reason": self.reason, "reason_code": self.reason_code}
