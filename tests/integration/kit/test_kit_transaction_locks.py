"""Several transaction locks in one round trip (``hold_transaction_locks``, PostgreSQL): taken in
the order of their keys whatever the order asked, so two transactions wanting some of the same
locks queue behind each other and never deadlock (the first test shows the order)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.kit.db import _lock_key, hold_transaction_lock, hold_transaction_locks, make_engine
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
    first, middle, last = sorted(NAMES, key=_lock_key)
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
        assert held_keys(engine, waiter["pid"]) == {_lock_key(first)}  # not the last: it comes after
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
