"""Reading and writing the event log and the read model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from services.kit.db import dialect_insert, hold_transaction_lock
from services.outcomes.adapters.orm import (
    consent_endings,
    consent_refusals,
    outcome_events,
    referral_outcomes,
)
from services.outcomes.domain.facts import Fact
from services.outcomes.domain.projection import consent_ending_row, consent_refusal_row, referral_row

COLUMNS = tuple(c.name for c in referral_outcomes.columns)


def _fact(row) -> Fact:
    return Fact(event_id=row.event_id, type=row.type, version=row.version, occurred_at=row.occurred_at,
                source=row.source, referral_id=row.referral_id, consent_id=row.consent_id,
                participant_ref=row.participant_ref, facts=dict(row.facts or {}))


class OutcomesRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- the log --------------------------------------------------------------------------------
    def append(self, fact: Fact) -> bool:
        """Log the fact; False (and nothing written) when its event is logged already."""
        return self.session.execute(
            dialect_insert(self.session, outcome_events).values(
                event_id=fact.event_id, type=fact.type, version=fact.version,
                occurred_at=fact.occurred_at, source=fact.source, referral_id=fact.referral_id,
                consent_id=fact.consent_id, participant_ref=fact.participant_ref, facts=fact.facts)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(outcome_events.c.seq)).first() is not None

    def count_events(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(outcome_events)).scalar_one())

    def facts_of(self, referral_id: str) -> list[Fact]:
        rows = self.session.execute(select(outcome_events).where(outcome_events.c.referral_id == referral_id))
        return [_fact(row) for row in rows]

    def log(self, chunk: int = 500) -> Iterator[list[Fact]]:
        """The whole log in ``seq`` order, a chunk at a time."""
        after = 0
        while True:
            rows = self.session.execute(select(outcome_events).where(outcome_events.c.seq > after)
                                        .order_by(outcome_events.c.seq).limit(chunk)).all()
            if not rows:
                return
            after = rows[-1].seq
            yield [_fact(row) for row in rows]

    # -- the read model -------------------------------------------------------------------------
    def project(self, fact: Fact) -> None:
        """Bring the read model up to date with one logged fact.

        Two events of one referral handled at once must not each compute the row without the
        other's fact: on PostgreSQL the second waits on a transaction lock of the referral, then
        reads the first one's committed fact (SQLite's single writer serialises them anyway).
        """
        if fact.referral_id:
            hold_transaction_lock(self.session, f"outcomes:{fact.referral_id}")
            self.put_referral(referral_row(fact.referral_id, self.facts_of(fact.referral_id)))
        elif fact.type in ("consent.revoked", "consent.expired"):
            self.put_ending(consent_ending_row(fact))
        elif fact.type == "referral.refused":
            self.put_refusal(consent_refusal_row(fact))

    def put_referral(self, row: dict[str, Any]) -> None:
        """Write the referral's row, replacing the one it had."""
        statement = dialect_insert(self.session, referral_outcomes).values(**row)
        self.session.execute(statement.on_conflict_do_update(
            index_elements=["referral_id"],
            set_={name: statement.excluded[name] for name in row if name != "referral_id"}))

    def put_ending(self, row: dict[str, Any]) -> None:
        self.session.execute(insert(consent_endings).values(**row))

    def put_refusal(self, row: dict[str, Any]) -> None:
        self.session.execute(insert(consent_refusals).values(**row))

    def clear_read_model(self) -> None:
        self.session.execute(delete(referral_outcomes))
        self.session.execute(delete(consent_endings))
        self.session.execute(delete(consent_refusals))

    def referrals(self) -> list[dict[str, Any]]:
        rows = self.session.execute(select(referral_outcomes).order_by(referral_outcomes.c.referral_id))
        return [dict(row._mapping) for row in rows]

    def endings(self) -> list[dict[str, Any]]:
        rows = self.session.execute(select(consent_endings).order_by(consent_endings.c.event_id))
        return [dict(row._mapping) for row in rows]

    def refusals(self) -> list[dict[str, Any]]:
        rows = self.session.execute(select(consent_refusals).order_by(consent_refusals.c.event_id))
        return [dict(row._mapping) for row in rows]


def outcomes_repositories(session: Session, ring=None) -> dict[str, Any]:
    return {"outcomes": OutcomesRepository(session)}
