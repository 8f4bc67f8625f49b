"""An agency's own delivery log: what was sent to it, over which channel, with what outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifications.domain.commands import ReadDeliveryLog


def delivery_log(query: ReadDeliveryLog, uow) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
    """One page of the caller's own deliveries (in ``query.status`` only, when given), newest
    first, and the cursor of the next page (None on the last). Entries hold ids, channel, status
    and attempts only."""
    with uow:
        rows = uow.deliveries.log_of(query.caller.agency_id, query.after, query.limit + 1,
                                     status=query.status)
    items = [{**d.to_log_entry(), "created_at": at.isoformat()} for d, at in rows[:query.limit]]
    more = len(rows) > query.limit
    return items, (rows[query.limit - 1][1], rows[query.limit - 1][0].id) if more else None
