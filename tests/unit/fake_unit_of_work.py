"""A unit of work without a database, for handler unit tests of every service.

It behaves like ``services.kit.unit_of_work.UnitOfWork`` as handlers see it: entered with
``with uow:``, it carries the repositories it was given as attributes, ``publish`` validates the
event against the contract and stages it (once per derived ``event_id``), ``commit`` makes the
staged events ``published``, leaving without commit throws them away, and ``handle_once`` skips
an event a consumer has already processed. Handlers never touch ``uow.session``; ``session`` is
only a marker that a transaction is open (a fake RPC client can assert that none is while it is
asked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from services.kit.contract import Event, new_event
from services.kit.creations import CreatedMeanwhile

_OPEN = object()


class FakeUnitOfWork:
    def __init__(self, *, source: str, consumer: str = "", **repositories: Any) -> None:
        self.source = source
        self.consumer = consumer
        self.repositories = repositories
        self.session: object | None = None
        self.cause: Event | None = None
        self.published: list[Event] = []
        self.commits = 0
        self._staged: list[Event] = []
        self._processed: set[tuple[str, str]] = set()
        self._depth = 0
        self._opened_for: str | None = None  # "reading", "one_statement"...: until the unit ends

    @contextmanager
    def reading(self) -> Iterator[FakeUnitOfWork]:
        """As ``with uow:``, for reads only: a commit inside is a mistake the fake reports."""
        with self._opened("reading"):
            yield self

    @contextmanager
    def one_statement(self) -> Iterator[FakeUnitOfWork]:
        """As ``with uow:``, for a unit that is one write: staging an event in it is a mistake."""
        with self._opened("one_statement"):
            yield self

    @contextmanager
    def each_statement_alone(self) -> Iterator[FakeUnitOfWork]:
        """As ``with uow:``, for statements that commit one by one: staging an event is a mistake."""
        with self._opened("each_statement_alone"):
            yield self

    @contextmanager
    def _opened(self, purpose: str) -> Iterator[FakeUnitOfWork]:
        with self:
            if self._depth == 1:  # inside an open unit of work: that unit, unchanged
                self._opened_for = purpose
            yield self

    def __enter__(self) -> FakeUnitOfWork:
        if self._depth == 0:
            self.session = _OPEN
            self._staged = []
            for name, repository in self.repositories.items():
                setattr(self, name, repository)
        self._depth += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._depth -= 1
        if self._depth:
            return
        self._staged = []
        self.session = None
        self.cause = None
        self._opened_for = None

    def commit(self) -> None:
        assert self.session is _OPEN, "commit outside the unit of work"
        assert self._opened_for != "reading", "commit in a unit of work opened for reading"
        self.published.extend(self._staged)
        self._staged = []
        self.commits += 1

    def rollback(self) -> None:
        self._staged = []

    def publish(self, type_: str, payload: dict[str, Any], *, aggregate_id: str | None = None,
                event_id: str | None = None) -> Event:
        assert self.session is _OPEN, "publish outside the unit of work"
        assert self._opened_for not in ("one_statement", "each_statement_alone"), \
            "an event staged in a unit of work without a transaction"
        cause = self.cause
        event = new_event(type_, payload, source=self.source,
                          correlation_id=cause.correlation_id if cause else None,
                          causation_id=cause.id if cause else None, event_id=event_id)
        if event_id is not None and any(e.id == event_id for e in (*self.published, *self._staged)):
            return event  # as the outbox's unique event id: staged once
        self._staged.append(event)
        return event

    def handle_once(self, consumer: str, event: Event, handler: Callable[..., Any], *args: Any) -> bool:
        if (consumer, event.id) in self._processed:
            return False
        with self:
            self.cause = event
            handler(event, self, *args)
            self.commit()
        self._processed.add((consumer, event.id))
        return True

    def handle(self, event: Event, handler: Callable[..., Any], *args: Any) -> bool:
        return self.handle_once(self.consumer, event, handler, *args)

    def types(self) -> list[str]:
        """The types of the committed events, in order."""
        return [event.type for event in self.published]


class FakeCreations:
    """``uow.creations`` in a dict: which object each (agency, key) created."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[str, str]] = {}
        self.held: list[str] = []  # the transaction locks taken with a record

    def find(self, agency_id: str, key: str) -> tuple[str, str] | None:
        return self.rows.get((agency_id, key))

    def add(self, creation, object_id: str, at, *, holding: str | None = None) -> None:
        if holding is not None:
            self.held.append(holding)
        if (creation.agency_id, creation.key) in self.rows:
            raise CreatedMeanwhile(creation.key)
        self.rows[(creation.agency_id, creation.key)] = (creation.fingerprint, object_id)
