"""``GET /v1/reports/outcomes``: the outcomes service's report, as JSON or as CSV.

The CSV (``services.outcomes.schemas.report_csv``) holds the same figures, one per line:
``measure,month,group,category,figure,value``.
"""

from __future__ import annotations

from typing import Any

from services.outcomes.schemas import report_csv

__all__ = ["report_csv", "service_query", "wants_csv"]


def wants_csv(accept: str | None) -> bool:
    """Whether ``Accept`` prefers CSV to JSON (the first of them it names wins)."""
    for part in (accept or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media == "text/csv":
            return True
        if media in ("application/json", "application/*", "*/*"):
            return False
    return False


def service_query(query: dict[str, Any]) -> dict[str, Any]:
    """The validated query as the outcomes service reads it (``from`` under its own name)."""
    return {("from" if name == "from_" else name): value
            for name, value in query.items() if value is not None}
