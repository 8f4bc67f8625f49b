"""Dispatchers' claims on the real delivery store: one statement takes the oldest due rows, two
dispatchers never take one row, and a lease that ran out lets another dispatcher take it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from services.kit.db import make_engine
from services.notifications.adapters.delivery_repository import DeliveryRepository
from services.notifications.adapters.orm import metadata
from services.notifications.domain.delivery import Delivery
from services.notifications.domain.message import MATCH_PROPOSED, build_message

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        store = DeliveryRepository(session)
        for n in range(5):
            message = build_message(f"ev-{n}", MATCH_PROPOSED, NOW, {
                "match_id": f"mt-{n}", "referral_id": f"rf-{n}", "mentor_agency_id": "ag-peers",
                "referrer_agency_id": "ag-hospital", "urgency": "routine"})
            store.add(Delivery.create(message.id, message.kind, "ag-peers", "webhook",
                                      NOW - timedelta(seconds=10 - n)), message,
                      NOW - timedelta(seconds=10 - n))
        session.commit()
    yield factory, engine
    engine.dispose()


def test_claims_take_the_oldest_due_rows_and_never_one_row_twice(sessions):
    factory, engine = sessions
    with factory() as first, factory() as second:
        mine = DeliveryRepository(first).claim_due(NOW, NOW + LEASE, "first", 3)
        assert [c.message.id for c in mine] == ["ev-0", "ev-1", "ev-2"]
        if engine.dialect.name == "postgresql":
            # The first claim is not committed yet: the second skips its rows instead of waiting.
            theirs = DeliveryRepository(second).claim_due(NOW, NOW + LEASE, "second", 3)
            assert [c.message.id for c in theirs] == ["ev-3", "ev-4"]
            second.commit()
        first.commit()
    with factory() as session:
        store = DeliveryRepository(session)
        if engine.dialect.name != "postgresql":
            assert [c.message.id for c in store.claim_due(NOW, NOW + LEASE, "second", 3)] == [
                "ev-3", "ev-4"]
        assert store.claim_due(NOW, NOW + LEASE, "third", 3) == []  # every row is leased
        # The leases run out (their dispatchers died): another dispatcher takes the rows.
        again = store.claim_due(NOW + LEASE, NOW + 2 * LEASE, "fourth", 10)
        assert len(again) == 5
        assert store.still_held([c.delivery.id for c in again], "fourth") == {
            c.delivery.id for c in again}
        assert store.still_held([c.delivery.id for c in again], "first") == set()
