"""Appending to the ledger on PostgreSQL: the lock and the insert go in one round trip when the
process's guess of the tip holds, and the chain stays whole when it does not (another replica
appended, a transaction rolled back, the tail was cut)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from services.consent.adapters.ledger_store import LedgerRepository, verify_stream
from services.consent.adapters.orm import ledger
from services.consent.ledger_keys import load_ledger_keys
from services.kit.db import make_engine
from tests.integration.consent.conftest import secret
from tests.integration.migrated import migrated
from tests.support import wait_for, waiting_on_locks


@pytest.fixture
def keys():
    return load_ledger_keys({"LEDGER_HMAC_KEY": secret(), "LEDGER_SIGNING_KEY": secret(),
                             "LEDGER_CHECKPOINT_EVERY": 1000})


@pytest.fixture
def replicas(postgres_url):
    """Two engines on one migrated database: two replicas, each with its own guess of the tip."""
    url = migrated("consent", postgres_url)
    engines = [make_engine(url), make_engine(url)]
    yield engines
    for engine in engines:
        engine.dispose()


def append(engine, keys, subject: str, *, commit: bool = True, entries: int = 1) -> int:
    """``entries`` entries in a transaction of their own; the statements sent (BEGIN and COMMIT
    aside)."""
    sent = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731 - the statement text
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with Session(engine) as session:
            repository = LedgerRepository(session)
            for n in range(entries):
                repository.append(keys, at=datetime.now(UTC), actor="hospital-1", action="access",
                                  subject=f"{subject} {n}", participant_id=None)
            if commit:
                session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(sent)


def verified(engine, keys) -> tuple[bool, int]:
    @contextmanager
    def reading() -> Iterator[LedgerRepository]:
        with Session(engine) as session:
            yield LedgerRepository(session)

    result = verify_stream(reading, keys)
    return result.ok, result.entries


def seqs(engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(ledger.c.seq).order_by(ledger.c.seq)).scalars())


def test_an_append_after_the_processs_own_takes_one_round_trip(replicas, keys):
    engine = replicas[0]
    assert append(engine, keys, "first") == 2  # no guess yet: the lock with the tip, then the insert
    assert [append(engine, keys, f"next-{n}") for n in range(5)] == [1] * 5
    assert seqs(engine) == [1, 2, 3, 4, 5, 6]
    assert verified(engine, keys) == (True, 6)


def test_a_transaction_of_two_entries_leaves_the_second_as_the_guess(replicas, keys):
    """A disclosure ledgers its decision and the disclosure in one transaction: the next
    append chains to the second without reading the tip."""
    engine = replicas[0]
    append(engine, keys, "first")
    assert append(engine, keys, "decision and disclosure", entries=2) == 2
    assert append(engine, keys, "next") == 1
    assert seqs(engine) == [1, 2, 3, 4]
    assert verified(engine, keys) == (True, 4)


def test_the_chain_stays_whole_when_another_replica_appended_meanwhile(replicas, keys):
    one, other = replicas
    append(one, keys, "one")
    append(one, keys, "one again")  # one's guess is now seq 2
    append(other, keys, "other")
    assert append(one, keys, "one, stale") == 3  # the guarded insert misses; tip read; insert
    assert append(one, keys, "one, current") == 1
    assert seqs(one) == [1, 2, 3, 4, 5]
    assert verified(one, keys) == (True, 5)


def test_a_guess_left_by_a_rolled_back_append_is_not_chained_to(replicas, keys):
    engine = replicas[0]
    append(engine, keys, "kept")
    append(engine, keys, "rolled back", commit=False)  # the guess is seq 2, which never committed
    append(engine, keys, "after it")
    assert seqs(engine) == [1, 2]
    assert verified(engine, keys) == (True, 2)


def test_a_tail_cut_under_the_guess_is_not_chained_to(replicas, keys):
    """Raw SQL takes no lock: a deleted tail row leaves the guess pointing at nothing."""
    engine = replicas[0]
    for n in range(3):
        append(engine, keys, f"entry-{n}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger WHERE seq = 3"))
    append(engine, keys, "after the cut")
    assert seqs(engine) == [1, 2, 3]
    assert verified(engine, keys) == (True, 3)


def test_a_guess_whose_seq_another_replica_took_is_not_chained_to(replicas, keys):
    """The guess's seq exists and nothing follows it, but with another entry's hash: only the
    hash tells them apart."""
    one, other = replicas
    append(one, keys, "kept")
    append(one, keys, "rolled back", commit=False)  # one's guess: seq 2 with this entry's hash
    append(other, keys, "the real seq 2")
    assert append(one, keys, "after it") == 3
    assert seqs(one) == [1, 2, 3]
    assert verified(one, keys) == (True, 3)


def test_an_append_waiting_on_the_lock_for_an_entry_at_its_seq_chains_after_it(replicas, keys):
    """The statement's snapshot is taken before it waits for the lock: its guard sees the guess
    as the tip while the lock's holder inserts the same seq. Once that commits, the insert
    conflicts, does nothing, and the entry goes after the holder's."""
    one, other = replicas
    append(one, keys, "one")  # one's guess: seq 1
    with Session(other) as holding:
        LedgerRepository(holding).append(keys, at=datetime.now(UTC), actor="hospital-1",
                                         action="access", subject="other, holding the lock")
        waiting = threading.Thread(target=append, args=(one, keys, "one, waiting"))
        waiting.start()
        wait_for(lambda: waiting_on_locks(other) == 1)
        holding.commit()
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    assert seqs(one) == [1, 2, 3]
    assert verified(one, keys) == (True, 3)

