"""Every consumed event: appended to the log, then the read model brought up to date."""

from __future__ import annotations

from collections.abc import Sequence

from services.outcomes.domain.facts import fact_of


def record_all(events: Sequence, uow) -> list[bool]:
    """Append the events' facts (once per event id) and re-project what they touch, a statement
    per table for all of them; per event, False (and nothing written) for one logged already,
    by an earlier transaction or earlier in ``events``."""
    facts = [fact_of(event) for event in events]
    logged = uow.outcomes.append(facts)
    uow.outcomes.project(logged)
    first = {fact.event_id for fact in logged}
    answers = []
    for fact in facts:
        answers.append(fact.event_id in first)
        first.discard(fact.event_id)
    return answers


def record(event, uow) -> bool:
    """``record_all`` for one event."""
    return record_all([event], uow)[0]
