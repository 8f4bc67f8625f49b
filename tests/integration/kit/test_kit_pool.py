"""The engine's pool: a connection used a moment ago goes straight back to work; one that sat idle
is pinged first and replaced if its server went away; one that died while busy fails once as a
disconnect and the pool starts afresh. SQLite connections are kept, not reopened per unit of
work. A unit of work that only reads sends no BEGIN on PostgreSQL."""

from __future__ import annotations

import time

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, MetaData, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from services.kit import db_counts
from services.kit.db import PING_AFTER_IDLE_SECONDS, make_engine, service_metadata
from services.kit.unit_of_work import UnitOfWork


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine, monkeypatch) -> list[int]:
    counted: list[int] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: counted.append(1) or ping(conn))
    return counted


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def terminate(url: str, pid: int) -> None:
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(engine, pings):
    pids = {backend_pid(engine) for _ in range(20)}
    assert len(pids) == 1 and pings == []


def test_an_idle_connection_whose_server_went_away_is_replaced_before_use(engine, pings, postgres_url):
    pid = backend_pid(engine)
    terminate(postgres_url, pid)
    time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)

    assert backend_pid(engine) != pid  # no error reached the caller
    assert pings == [1]


def test_a_connection_that_died_while_in_use_fails_once_and_the_next_is_fresh(engine, postgres_url):
    pid = backend_pid(engine)
    terminate(postgres_url, pid)

    with pytest.raises(DBAPIError) as failed, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated  # the unit of work maps this to DatabaseUnavailable
    assert backend_pid(engine) != pid


def test_the_benchmark_counts_the_pings_it_would_have_paid(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setattr(db_counts, "_counts", None)
    monkeypatch.setattr(db_counts.signal, "signal", lambda *_: None)
    engine = make_engine(postgres_url)
    assert db_counts.count_engine(engine, "consent", environ={db_counts.ENV: str(tmp_path)})
    try:
        for _ in range(5):
            backend_pid(engine)
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
        backend_pid(engine)
        counted = db_counts._counts
        assert (counted.checkouts, counted.pings) == (6, 1)
    finally:
        engine.dispose()


def test_sqlite_keeps_its_connections_between_units_of_work(sqlite_url):
    engine = make_engine(sqlite_url)
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    try:
        for _ in range(10):
            with engine.begin() as conn:
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert opened == [1]
    finally:
        engine.dispose()


def test_a_unit_that_only_reads_runs_without_a_transaction_on_postgresql(postgres_url):
    engine = make_engine(postgres_url, pool_size=1)
    factory = sessionmaker(engine, info={"metadata": service_metadata()})
    uow = UnitOfWork(factory, source="test")
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: sent.append(sql))

    def status() -> TransactionStatus:
        return uow.session.connection().connection.dbapi_connection.info.transaction_status

    try:
        with uow.reading():
            assert uow.session.execute(text("SELECT 1")).scalar_one() == 1
            assert status() == TransactionStatus.IDLE  # no BEGIN went before it
        with uow:  # the same pooled connection, transactional again
            uow.session.execute(text("SELECT 1"))
            assert status() == TransactionStatus.INTRANS
        with uow, uow.reading():  # inside an open unit of work: that unit, unchanged
            uow.session.execute(text("SELECT 1"))
            assert status() == TransactionStatus.INTRANS
        assert sent == ["SELECT 1"] * 3
    finally:
        engine.dispose()


def _unit_of_work_on(url: str) -> tuple[Engine, UnitOfWork, MetaData]:
    """A unit of work on one pooled connection to a database holding the kit's tables."""
    engine = make_engine(url, pool_size=1)
    metadata = service_metadata()
    metadata.create_all(engine)
    return engine, UnitOfWork(sessionmaker(engine, info={"metadata": metadata}), source="test"), metadata


def test_a_unit_that_is_one_write_commits_it_without_a_transaction_on_postgresql(postgres_url):
    engine, uow, metadata = _unit_of_work_on(postgres_url)
    outbox = metadata.tables["outbox"]

    def status() -> TransactionStatus:
        return uow.session.connection().connection.dbapi_connection.info.transaction_status

    try:
        with uow.one_statement():
            uow.session.execute(text("INSERT INTO processed_events (consumer, event_id, processed_at)"
                                     " VALUES ('c', 'e-1', now())"))
            assert status() == TransactionStatus.IDLE  # committed already: no BEGIN went before it
        with engine.connect() as other:
            assert other.execute(text("SELECT count(*) FROM processed_events")).scalar_one() == 1
        with pytest.raises(RuntimeError), uow.one_statement():  # an event needs a transaction
            uow.publish("consent.expired", {"consent_id": "cn-1", "participant_id": "pt-1"})
        with engine.connect() as other:
            assert other.execute(text(f"SELECT count(*) FROM {outbox.name}")).scalar_one() == 0
        with uow:  # and the unit of work is transactional again
            uow.publish("consent.expired", {"consent_id": "cn-2", "participant_id": "pt-2"})
            assert status() == TransactionStatus.INTRANS
    finally:
        engine.dispose()


def test_a_unit_whose_statements_stand_alone_commits_each_as_it_runs_on_postgresql(postgres_url):
    engine, uow, _metadata = _unit_of_work_on(postgres_url)

    def committed() -> int:
        with engine.connect() as other:
            return other.execute(text("SELECT count(*) FROM processed_events")).scalar_one()

    try:
        with pytest.raises(ZeroDivisionError), uow.each_statement_alone():
            for n in (1, 2):
                uow.session.execute(text("INSERT INTO processed_events (consumer, event_id, processed_at)"
                                         f" VALUES ('c', 'e-{n}', now())"))
                assert committed() == n  # each committed as it ran: no transaction holds it
            raise ZeroDivisionError  # a unit that fails part way leaves what ran done
        assert committed() == 2
        with pytest.raises(RuntimeError), uow.each_statement_alone():  # an event needs a transaction
            uow.publish("consent.expired", {"consent_id": "cn-1", "participant_id": "pt-1"})
    finally:
        engine.dispose()
