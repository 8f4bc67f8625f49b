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
    reason: str | None = None  # the words ``by`` wrote: shown to that agency only
    reason_code: str | None = None  # shown to every party to the referral

    def as_dict(self, agency_id: str | None) -> dict[str, Any]:
        """The entry as ``agency_id`` sees it: the words only if that agency wrote them."""
        return {"status": self.status, "at": self.at.isoformat(), "by": self.by,
                "reason": self.reason if agency_id == self.by else None,
                "reason_code": self.reason_code}
