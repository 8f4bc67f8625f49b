"""The inbox claims an event with one statement before the handler runs: a duplicate costs only
that statement, two deliveries of one event at once take effect once, and a handler that fails
leaves the event unclaimed for its retry."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column, Integer, String, Table, event, func, select
from sqlalchemy.orm import sessionmaker

from services.kit.contract import new_event
from services.kit.db import make_engine, service_metadata
from services.kit.unit_of_work import UnitOfWork


@pytest.fixture
def store(database_url):
    url = database_url
    metadata = service_metadata()
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True),
                    Column("event_id", String(36), nullable=False))
    engine = make_engine(url)
    metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})
    yield factory, effects, engine
    engine.dispose()


def _uow(factory) -> UnitOfWork:
    return UnitOfWork(factory, source="test")


def _effects(factory, effects) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(effects)).scalar_one()


def _record(effects):
    def handler(evt, uow) -> None:
        uow.session.execute(effects.insert().values(event_id=evt.id))
    return handler


def test_a_duplicate_is_skipped_with_one_statement(store):
    factory, effects, engine = store
    evt = new_event("consent.expired", {"consent_id": "cn-1", "participant_id": "pt-1"}, source="test")
    assert _uow(factory).handle_once("sink", evt, _record(effects)) is True
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: statements.append(statement))
    assert _uow(factory).handle_once("sink", evt, _record(effects)) is False
    assert [s.split()[0].upper() for s in statements] == ["INSERT"], statements
    assert _effects(factory, effects) == 1
    # Another consumer of the same event has an inbox of its own.
    assert _uow(factory).handle_once("other", evt, _record(effects)) is True


def test_a_handler_that_fails_leaves_the_event_to_its_retry(store):
    factory, effects, _engine = store
    evt = new_event("consent.expired", {"consent_id": "cn-2", "participant_id": "pt-2"}, source="test")

    def failing(evt, uow) -> None:
        _record(effects)(evt, uow)
        raise RuntimeError("the handler broke")

    with pytest.raises(RuntimeError):
        _uow(factory).handle_once("sink", evt, failing)
    assert _effects(factory, effects) == 0
    assert _uow(factory).handle_once("sink", evt, _record(effects)) is True
    assert _effects(factory, effects) == 1


def test_two_deliveries_of_one_event_at_once_take_effect_once(store):
    factory, effects, engine = store
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's single writer already takes deliveries one at a time")
    evt = new_event("consent.expired", {"consent_id": "cn-3", "participant_id": "pt-3"}, source="test")
    inside, release = threading.Event(), threading.Event()

    def slow(evt, uow) -> None:
        _record(effects)(evt, uow)
        inside.set()
        release.wait(10)

    results: list[bool] = []
    first = threading.Thread(target=lambda: results.append(_uow(factory).handle_once("sink", evt, slow)))
    first.start()
    assert inside.wait(10)
    # The second waits on the first one's uncommitted claim, then finds it committed.
    second = threading.Thread(
        target=lambda: results.append(_uow(factory).handle_once("sink", evt, _record(effects))))
    second.start()
    second.join(0.3)
    assert second.is_alive(), "the second delivery waits for the first one's claim"
    release.set()
    first.join(10)
    second.join(10)
    assert sorted(results) == [False, True]
    assert _effects(factory, effects) == 1


def test_a_consumer_keyed_on_the_event_id_writes_no_inbox_row(store):
    factory, effects, engine = store
    evt = new_event("consent.expired", {"consent_id": "cn-4", "participant_id": "pt-4"}, source="test")

    def keyed(evt, uow) -> bool:
        # What an event log with a unique event_id does: the first write skips a duplicate.
        taken = uow.session.execute(select(func.count()).select_from(effects)
                                    .where(effects.c.event_id == evt.id)).scalar_one()
        if taken:
            return False
        _record(effects)(evt, uow)
        return True

    assert _uow(factory).handle_keyed(evt, keyed) is True
    assert _uow(factory).handle_keyed(evt, keyed) is False
    assert _effects(factory, effects) == 1
    with factory() as session:
        inbox = service_metadata().tables["processed_events"]
        assert session.execute(select(func.count()).select_from(inbox)).scalar_one() == 0
