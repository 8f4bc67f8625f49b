"""Several transaction locks in one round trip (``hold_transaction_locks``, PostgreSQL): taken in
the order of their keys whatever the order asked, so two transactions wanting some of the same
locks queue behind each other and never deadlock (the first test shows the order). A creation's
record can take a lock in its own statement (``Creations.add(..., holding=...)``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, event, select, text
from sqlalchemy.orm import Session

from services.kit.creations import CreatedMeanwhile, Creation, Creations, add_creations_table
from services.kit.db import hold_transaction_lock, hold_transaction_locks, make_engine, transaction_lock_key
from tests.support import wait_for, waiting_on_locks

NAMES = [f"outcomes:referral-{n}" for n in range(3)]


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def held_keys(engine, pid: int) -> set[int]:
    """The advisory locks (bigint keys) the session ``pid`` holds."""
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid = :pid"), {"pid": pid}).scalars())


def test_the_locks_are_taken_in_key_order_and_a_waiter_holds_only_those_before_the_one_it_waits_for(engine):
    first, middle, last = sorted(NAMES, key=transaction_lock_key)
    waiter: dict[str, int] = {}

    def take_all() -> None:
        with Session(engine) as session:
            waiter["pid"] = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            hold_transaction_locks(session, [last, middle, first])  # asked in the reverse order
            waiter["held"] = len(held_keys(engine, waiter["pid"]))
            session.commit()

    with Session(engine) as holding:
        hold_transaction_lock(holding, middle)
        taking = threading.Thread(target=take_all)
        taking.start()
        wait_for(lambda: waiting_on_locks(engine) == 1, what="the second transaction waiting")
        # Not the last: it comes after.
        assert held_keys(engine, waiter["pid"]) == {transaction_lock_key(first)}
        holding.commit()
    taking.join(timeout=30)
    assert not taking.is_alive() and waiter["held"] == 3


def test_sqlite_needs_no_lock_and_takes_none(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    try:
        with Session(engine) as session:
            hold_transaction_locks(session, NAMES)
            session.commit()
    finally:
        engine.dispose()


def test_a_creation_recorded_holding_a_lock_takes_it_in_its_own_statement_before_the_record(engine):
    metadata = MetaData()
    table = add_creations_table(metadata)
    metadata.create_all(engine)  # the test's own database
    creation = Creation("agency-1", "key-1", "fingerprint-1")
    sent: list[str] = []

    def record() -> None:
        with Session(engine, info={"metadata": metadata}) as session:
            event.listen(session.connection(), "before_cursor_execute", lambda *args: sent.append(args[2]))
            Creations(session).add(creation, "object-1", datetime.now(UTC), holding="consent:c-1")
            session.commit()

    with Session(engine) as holding:
        hold_transaction_lock(holding, "consent:c-1")
        recording = threading.Thread(target=record)
        recording.start()
        wait_for(lambda: waiting_on_locks(engine) == 1, what="the record waiting for the lock")
        # The lock comes first: while the record waits for it, the key is free. (Had the row
        # gone in first, this insert of the same key would wait for it, and time out.)
        with engine.connect() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '500ms'"))
            conn.execute(table.insert().values(agency_id="agency-1", key="key-1", fingerprint="f",
                                               object_id="other", created_at=datetime.now(UTC)))
            conn.rollback()
        holding.commit()
    recording.join(timeout=30)
    assert not recording.is_alive() and len(sent) == 1
    with engine.connect() as conn:
        [row] = conn.execute(select(table)).all()
    assert (row.agency_id, row.key, row.object_id) == ("agency-1", "key-1", "object-1")

    with Session(engine, info={"metadata": metadata}) as session, pytest.raises(CreatedMeanwhile):
        Creations(session).add(creation, "object-2", datetime.now(UTC), holding="consent:c-1")
