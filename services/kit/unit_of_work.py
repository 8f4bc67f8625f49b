"""The unit of work: one session, one transaction, the service's repositories, and the events.

The unit of work owns the service's repositories: ``with uow: uow.referrals.get(id)``. A service
names them once (``repositories``: a function of the session returning ``{"referrals": ...}``);
they exist only while the unit of work is entered, so nothing outlives its transaction.

Business code never publishes. It calls ``uow.publish(...)``, which validates the
event against the contract and adds an outbox row to the same transaction;
``commit`` writes both or neither, then hands the committed rows to the relay
(``on_commit``), which publishes them and marks them sent; the rows stay in the outbox until
then, so a crash before the publish delays an event, never loses one.

A unit of work is bounded: with ``wait_seconds`` it raises ``DatabaseUnavailable`` once it has
been open that long (a database that stopped answering cannot hold a worker forever), and a
database error that means "unreachable or too slow" (SQLAlchemy's ``OperationalError``: a
refused connection, a statement or lock timeout, SQLite's lock wait) leaves it as
``DatabaseUnavailable`` too, so callers answer 503 and event handlers retry.

Consumers go through ``handle_once``, which records ``(consumer, event id)`` in
the same transaction as the handler's effect, so a redelivered event is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, NamedTuple

import eventlet
from sqlalchemy import Insert, MetaData, insert, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from services.kit.contract import Event, new_event
from services.kit.db import WriterGate, insert_for, utcnow
from services.kit.errors import DatabaseUnavailable

Repositories = Callable[[Session], Mapping[str, Any]]


class Staged(NamedTuple):
    """An outbox row as its unit of work staged it: what the relay publishes without reading it."""

    event_id: str
    type: str
    message: str


class UnitOfWork:
    """Use as ``with uow: ...; uow.commit()``; leaving without commit rolls back."""

    def __init__(
        self,
        session_factory: sessionmaker,
        *,
        source: str,
        gate: WriterGate | None = None,
        on_commit: Callable[[list[Staged]], None] | None = None,
        repositories: Repositories | None = None,
        wait_seconds: float | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._wait_seconds = wait_seconds
        self._timer: eventlet.Timeout | None = None
        self._repositories = repositories
        self._repository_names: tuple[str, ...] = ()
        self._gate = gate or WriterGate(serialise=False)
        self._on_commit = on_commit
        self.source = source
        self.session: Session | None = None
        self.cause: Event | None = None
        self._staged: list[Staged] = []
        self._depth = 0
        self._gate_cm = None
        self._single = False  # inside one_statement()

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            # A Timeout (not an Exception) is what SQLAlchemy treats as "drop this connection":
            # a connection cut off mid-statement is invalidated, never reused.
            self._timer = eventlet.Timeout(self._wait_seconds) if self._wait_seconds else None
            try:
                self._gate_cm = self._gate.held()
                self._gate_cm.__enter__()
                try:
                    self.session = self._session_factory()
                    self._staged = []
                    self._open_repositories()
                except BaseException:
                    self._gate_cm.__exit__(None, None, None)
                    raise
            except BaseException as exc:
                unavailable = self._unavailable(exc)
                self._cancel_timer()
                self.session = None
                if unavailable is None:
                    raise
                raise unavailable from None
        self._depth += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._depth -= 1
        if self._depth:
            return
        try:
            try:
                self.session.rollback()
                self.session.close()
            except BaseException as closing:
                if self._unavailable(closing) is None:
                    raise
                exc = exc or closing  # the connection is gone: report why, as below
            unavailable = self._unavailable(exc) if exc is not None else None
        finally:
            self._cancel_timer()
            for name in self._repository_names:
                delattr(self, name)
            self._repository_names = ()
            self.session = None
            self.cause = None
            self._single = False
            self._gate_cm.__exit__(None, None, None)
        if unavailable is not None:
            raise unavailable from (None if isinstance(exc, eventlet.Timeout) else exc)

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """``with uow.reading(): ...`` for a unit of work that only reads.

        On PostgreSQL its statements run outside a transaction: no ``BEGIN`` and no ``ROLLBACK``,
        two round trips fewer. Under READ COMMITTED every statement of a transaction takes a
        snapshot of its own anyway, so such reads see nothing different. A unit that locks
        (``FOR UPDATE``, an advisory lock), writes, or needs one snapshot for several statements
        uses ``with uow:``. Inside an open unit of work this is that unit, unchanged.
        """
        with self._untransacted():
            yield self

    @contextmanager
    def one_statement(self) -> Iterator[UnitOfWork]:
        """``with uow.one_statement(): ...; uow.commit()`` for a unit of work that is a single
        write statement (an ``INSERT … ON CONFLICT``, an ``UPDATE``), staging no event.

        A statement is atomic by itself: on PostgreSQL it commits on its own, without ``BEGIN``
        and ``COMMIT``, one round trip where there were three. Anything more (a second statement
        that must commit with the first, an event for the outbox, a lock) uses ``with uow:``.
        Only for a write whose late commit is harmless: a statement cut off by the unit's
        deadline (a stalled database) may still commit when the server gets to it, where a
        transaction would have rolled back without its ``COMMIT``.
        """
        with self.each_statement_alone():
            yield self

    @contextmanager
    def each_statement_alone(self) -> Iterator[UnitOfWork]:
        """``with uow.each_statement_alone(): ...; uow.commit()`` for a unit of work whose
        statements need not commit together (a claim, then reads), staging no event.

        On PostgreSQL every statement commits as it runs, as in ``one_statement``: no ``BEGIN``
        and no ``COMMIT``. A unit that fails part way leaves its earlier statements done, and
        each write must be one whose late commit is harmless (see ``one_statement``).
        """
        with self._untransacted():
            if self._depth == 1:
                self._single = True  # until the unit ends (``__exit__``)
            yield self

    @contextmanager
    def _untransacted(self) -> Iterator[UnitOfWork]:
        with self:
            if self._depth == 1 and self.session.get_bind().dialect.name == "postgresql":
                self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield self

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailable | None:
        """The ``DatabaseUnavailable`` that ``exc`` amounts to, or None if it is something else."""
        # The driver may raise its own error while cleaning up after the timeout (a pre-ping cut
        # short leaves psycopg mid-transaction): the timeout is then further down the chain.
        seen, visited = exc, set()
        while seen is not None and id(seen) not in visited:
            if seen is self._timer and self._timer is not None:
                return DatabaseUnavailable(f"The {self.source} database did not answer within "
                                           f"{self._wait_seconds:g} s.")
            visited.add(id(seen))
            seen = seen.__cause__ or seen.__context__
        if isinstance(exc, OperationalError):
            return DatabaseUnavailable(f"The {self.source} database is unavailable or too slow.")
        return None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _open_repositories(self) -> None:
        if self._repositories is None:
            return
        made = self._repositories(self.session)
        for name, repository in made.items():
            setattr(self, name, repository)
        self._repository_names = tuple(made)

    def check(self, within: float = 1.0) -> str:
        """``"ok"`` when the database answers a trivial query within ``within`` seconds, else
        ``"unavailable"``. For readiness checks: never raises, never waits longer."""
        saved, self._wait_seconds = self._wait_seconds, within
        try:
            with self:
                self.session.execute(text("SELECT 1")).scalar()
            return "ok"
        except Exception:  # noqa: BLE001 - whatever the failure, the database is not serving
            return "unavailable"
        finally:
            self._wait_seconds = saved

    def commit(self) -> None:
        self.session.commit()
        staged, self._staged = self._staged, []
        if staged and self._on_commit is not None:
            self._on_commit(staged)

    def rollback(self) -> None:
        self.session.rollback()
        self._staged = []

    def publish(self, type_: str, payload: dict[str, Any], *, aggregate_id: str | None = None,
                event_id: str | None = None) -> Event:
        """Stage an event in the outbox of the current transaction.

        With ``event_id`` (derived by the caller, e.g. ``creations.derived_event_id``) an event
        already staged under that id, by an earlier attempt at the same thing, is kept and this one
        is not staged again: the same fact is published once however often it is told.
        Raises ``ContractError`` if the payload does not match the catalog, and ``RuntimeError``
        in a ``one_statement`` unit of work, whose statement would commit without its event.
        """
        if self._single:
            raise RuntimeError("an event cannot be staged in a one-statement unit of work")
        cause = self.cause
        event = new_event(
            type_,
            payload,
            source=self.source,
            correlation_id=cause.correlation_id if cause else None,
            causation_id=cause.id if cause else None,
            event_id=event_id,
        )
        row = {"event_id": event.id, "type": event.type, "aggregate_id": aggregate_id,
               "message": json.dumps(event.to_message()), "created_at": utcnow()}
        statements = kit_statements(self.session)
        if event_id is None:
            self.session.execute(statements.stage, row)
        elif self.session.execute(statements.stage_once, row).first() is None:
            return event  # staged already, by an earlier attempt
        self._staged.append(Staged(event.id, event.type, row["message"]))
        return event

    def handle_once(self, consumer: str, event: Event, handler: Callable[..., Any], *args: Any) -> bool:
        """Run ``handler(event, uow, *args)`` and commit, unless ``consumer`` already processed it.

        Returns False for a duplicate. The handler must not commit itself.

        The inbox row is claimed first, by one ``INSERT … ON CONFLICT DO NOTHING``: a duplicate
        costs that one statement, and a concurrent redelivery on PostgreSQL waits on the first
        one's row, then finds it committed (or rolled back, and claims it itself). A handler
        that raises rolls the claim back with its effect.
        """
        with self:
            claimed = self.session.execute(kit_statements(self.session).claim, {
                "consumer": consumer, "event_id": event.id, "processed_at": utcnow()}).first()
            if claimed is None:
                return False
            self.cause = event
            handler(event, self, *args)
            self.commit()
            return True

    def handle_keyed(self, event: Event, handler: Callable[..., bool], *args: Any) -> bool:
        """Run ``handler(event, uow, *args)`` and commit, for a consumer whose own first write is
        keyed on the event's id and skips a duplicate (an event log with a unique ``event_id``):
        that write is the inbox, and an inbox row beside it would be a second statement for the
        same guarantee. ``handler`` returns False for a duplicate, and writes nothing then.
        """
        with self:
            self.cause = event
            handled = handler(event, self, *args)
            self.commit()
            return bool(handled)

    def handle_keyed_many(self, events: Sequence[Event],
                          handler: Callable[..., Sequence[bool]]) -> list[bool]:
        """``handle_keyed`` for several events in one transaction: ``handler(events, uow)``
        answers, per event in order, False for a duplicate. The events have no one cause, so
        anything the handler publishes carries none (``services/kit/group_commit.py``).
        """
        with self:
            handled = handler(events, self)
            self.commit()
            return [bool(answer) for answer in handled]


class KitStatements(NamedTuple):
    """The kit's statements on one service's tables, built once (``kit_statements``)."""

    stage: Insert  # an outbox row
    stage_once: Insert  # an outbox row unless its event id is staged already; RETURNING it if not
    claim: Insert  # an inbox row unless the consumer has it; RETURNING it if not


def kit_statements(session: Session) -> KitStatements:
    """The statements every unit of work runs, for the session's tables and dialect.

    Building a statement (its clauses, their coercion, its cache key) costs SQLAlchemy about as
    much CPU as executing it, and these run for every event staged and consumed: they are built
    once per process and run with their parameters. RETURNING, not ``rowcount``, tells whether a
    row went in: psycopg reports -1 for an INSERT that skipped its row.
    """
    return _kit_statements(session.info["metadata"], session.get_bind().dialect.name)


@cache
def _kit_statements(metadata: MetaData, dialect: str) -> KitStatements:
    outbox, inbox = metadata.tables["outbox"], metadata.tables["processed_events"]
    return KitStatements(
        stage=insert(outbox),
        stage_once=(insert_for(dialect)(outbox).on_conflict_do_nothing(index_elements=["event_id"])
                    .returning(outbox.c.event_id)),
        claim=(insert_for(dialect)(inbox).on_conflict_do_nothing(index_elements=["consumer", "event_id"])
               .returning(inbox.c.event_id)),
    )


def outbox_table(session: Session):
    return _kit_table(session, "outbox")


def _kit_table(session: Session, name: str):
    metadata = session.info["metadata"]
    return metadata.tables[name]
