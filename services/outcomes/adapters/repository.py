"""Reading and writing the event log and the read model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Insert, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from services.kit.db import hold_transaction_locks, insert_for
from services.outcomes.adapters.orm import (
    consent_endings,
    consent_refusals,
    outcome_events,
    referral_outcomes,
)
from services.outcomes.domain.facts import Fact
from services.outcomes.domain.projection import consent_ending_row, consent_refusal_row, referral_row

COLUMNS = tuple(c.name for c in referral_outcomes.columns)

# Built once: every event consumed runs them (``services/kit/unit_of_work.py:kit_statements``).
_FACTS_OF = select(outcome_events).where(outcome_events.c.referral_id.in_(bindparam("ids", expanding=True)))
_PUT_ENDING = insert(consent_endings)
_PUT_REFUSAL = insert(consent_refusals)


class _Upserts(NamedTuple):
    """The statements whose ``ON CONFLICT`` is the dialect's own, built once per dialect."""

    append: Insert  # a log row unless its event is logged already; RETURNING it if not
    put_referral: Insert  # a referral's row, replacing the one it had


@cache
def _upserts(dialect: str) -> _Upserts:
    put_referral = insert_for(dialect)(referral_outcomes)
    return _Upserts(
        append=(insert_for(dialect)(outcome_events).on_conflict_do_nothing(index_elements=["event_id"])
                .returning(outcome_events.c.event_id)),
        put_referral=put_referral.on_conflict_do_update(
            index_elements=["referral_id"],
            set_={name: put_referral.excluded[name] for name in COLUMNS if name != "referral_id"}),
    )


def _fact(row) -> Fact:
    return Fact(event_id=row.event_id, type=row.type, version=row.version, occurred_at=row.occurred_at,
                source=row.source, referral_id=row.referral_id, consent_id=row.consent_id,
                participant_ref=row.participant_ref, facts=dict(row.facts or {}))


class OutcomesRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _dialect_upserts(self) -> _Upserts:
        return _upserts(self.session.get_bind().dialect.name)

    # -- the log --------------------------------------------------------------------------------
    def append(self, facts: Iterable[Fact]) -> list[Fact]:
        """Log the facts whose events are not logged yet, in one statement; the ones logged now,
        each event id once (the first of a repeated id)."""
        unique: dict[str, Fact] = {}
        for fact in facts:
            unique.setdefault(fact.event_id, fact)
        if not unique:
            return []
        rows = [{"event_id": fact.event_id, "type": fact.type, "version": fact.version,
                 "occurred_at": fact.occurred_at, "source": fact.source, "referral_id": fact.referral_id,
                 "consent_id": fact.consent_id, "participant_ref": fact.participant_ref, "facts": fact.facts}
                for fact in unique.values()]
        logged = set(self.session.scalars(self._dialect_upserts().append, rows))
        return [fact for fact in unique.values() if fact.event_id in logged]

    def count_events(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(outcome_events)).scalar_one())

    def facts_of(self, referral_ids: Iterable[str]) -> dict[str, list[Fact]]:
        """Every logged fact of each referral, by referral id (a referral without any: absent)."""
        found: dict[str, list[Fact]] = {}
        for row in self.session.execute(_FACTS_OF, {"ids": list(referral_ids)}):
            found.setdefault(row.referral_id, []).append(_fact(row))
        return found

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
    def project(self, facts: Iterable[Fact]) -> None:
        """Bring the read model up to date with logged facts, a statement per table.

        Two events of one referral handled at once must not each compute the row without the
        other's fact: on PostgreSQL each transaction takes a lock per referral it touches (all
        in one statement, in one order), so the second waits, then reads the first one's
        committed facts (SQLite's single writer serialises them anyway).
        """
        facts = list(facts)
        referral_ids = sorted({fact.referral_id for fact in facts if fact.referral_id})
        if referral_ids:
            hold_transaction_locks(self.session, (f"outcomes:{rid}" for rid in referral_ids))
            facts_of = self.facts_of(referral_ids)
            self.put_referrals([referral_row(rid, facts_of.get(rid, ())) for rid in referral_ids])
        self.put_endings([consent_ending_row(fact) for fact in facts
                          if not fact.referral_id and fact.type in ("consent.revoked", "consent.expired")])
        self.put_refusals([consent_refusal_row(fact) for fact in facts
                           if not fact.referral_id and fact.type == "referral.refused"])

    def put_referrals(self, rows: list[dict[str, Any]]) -> None:
        """Write the referrals' rows (every column, as ``referral_row`` gives it), replacing the
        ones they had; one statement (SQLAlchemy's many-values insert)."""
        if rows:
            self.session.execute(self._dialect_upserts().put_referral, rows)

    def put_endings(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(_PUT_ENDING, rows)

    def put_refusals(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(_PUT_REFUSAL, rows)

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
