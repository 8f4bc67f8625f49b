"""The gateway's idempotency records in SQL, on SQLite and PostgreSQL: one claim per key, one
take-over of a stale lease, the created object's id kept, and expired records purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from gateway.adapters.orm import metadata
from gateway.adapters.stores import SqlIdempotencyStore
from gateway.idempotency import DEFAULT_LEASE, RETENTION, IdempotencyRecord
from services.kit.db import make_engine
from services.kit.unit_of_work import UnitOfWork
from tests.integration.migrated import migrated

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url):
    engine = make_engine(migrated("gateway", database_url))
    yield SqlIdempotencyStore(UnitOfWork(sessionmaker(engine, info={"metadata": metadata}),
                                         source="gateway"))
    engine.dispose()


def record(key: str = "k-1", at: datetime = T0, fingerprint: str = "f" * 64) -> IdempotencyRecord:
    return IdempotencyRecord("agency-1", key, fingerprint, at, lease_until=at + DEFAULT_LEASE)


def test_the_first_claim_wins_and_later_ones_see_it(store):
    assert store.claim(record()) is None
    seen = store.claim(record(at=T0 + timedelta(seconds=1), fingerprint="e" * 64))
    assert seen == record()


def test_a_stale_lease_is_taken_over_once_and_the_object_id_kept(store):
    store.claim(record())
    later = T0 + DEFAULT_LEASE + timedelta(seconds=1)
    assert store.take_over(record(), later + DEFAULT_LEASE)
    assert not store.take_over(record(), later + DEFAULT_LEASE)  # a second retry finds it taken
    store.complete("agency-1", "k-1", "referral-9")
    kept = store.claim(record(at=later))
    assert kept.object_id == "referral-9" and kept.lease_until == later + DEFAULT_LEASE
    assert not store.take_over(kept, later + 2 * DEFAULT_LEASE)  # completed: nothing to take over


def test_a_released_key_can_be_claimed_again(store):
    store.claim(record())
    store.release("agency-1", "k-1")
    assert store.claim(record(fingerprint="e" * 64)) is None


def test_expired_records_are_purged_and_fresh_ones_kept(store):
    store.claim(record("old"))
    store.claim(record("new", at=T0 + timedelta(hours=2)))
    assert store.purge(T0 + RETENTION + timedelta(minutes=1)) == 1
    assert store.claim(record("old", at=T0 + timedelta(hours=3))) is None
    assert store.claim(record("new", at=T0 + timedelta(hours=3))) is not None
