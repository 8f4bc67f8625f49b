"""Every consumed event: appended to the log, then the read model brought up to date."""

from __future__ import annotations

from services.outcomes.domain.facts import fact_of


def record(event, uow) -> bool:
    """Append the event's fact (once per event id) and re-project what it touches; False, and
    nothing written, for an event logged already."""
    fact = fact_of(event)
    if not uow.outcomes.append(fact):
        return False
    uow.outcomes.project(fact)
    return True
