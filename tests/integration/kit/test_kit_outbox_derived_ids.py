"""An event staged under a derived id (``creations.derived_event_id``) is staged once, on SQLite
and PostgreSQL: a second attempt at the same fact commits without a second outbox row, and the
relay is told of none."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.kit.creations import creation_of, derived_event_id
from services.kit.db import make_engine, service_metadata
from services.kit.unit_of_work import UnitOfWork

PAYLOAD = {"referrer_agency_id": "h-1", "participant_id": "p-1", "consent_id": "c-1",
           "reason_code": "expired", "urgency": "routine", "language": None}


@pytest.fixture
def factory(database_url):
    metadata = service_metadata()
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})
    engine.dispose()


def _stage(factory, event_id: str | None, told: list[int]) -> str:
    """Stage one event; ``told`` gets how many rows the commit handed to the relay."""
    uow = UnitOfWork(factory, source="referrals", on_commit=lambda rows: told.append(len(rows)))
    with uow:
        event = uow.publish("referral.refused", PAYLOAD, event_id=event_id)
        uow.commit()
    return event.id


def _outbox(factory) -> list[str]:
    with factory() as session:
        table = session.info["metadata"].tables["outbox"]
        return list(session.execute(select(table.c.event_id).order_by(table.c.id)).scalars())


def test_an_event_under_a_derived_id_is_staged_once(factory):
    told: list[int] = []
    derived = derived_event_id(creation_of("h-1", "key-1", {"a": 1}), "referral.refused")
    assert _stage(factory, derived, told) == derived
    assert _stage(factory, derived, told) == derived
    assert _outbox(factory) == [derived]
    assert told == [1]  # the second commit staged nothing for the relay
    fresh = [_stage(factory, None, told) for _ in range(2)]
    assert _outbox(factory) == [derived, *fresh] and told == [1, 1, 1]


def test_derived_ids_differ_by_agency_key_request_and_type():
    base = creation_of("h-1", "key-1", {"a": 1})
    ids = {derived_event_id(c, t) for c, t in (
        (base, "referral.refused"), (creation_of("h-2", "key-1", {"a": 1}), "referral.refused"),
        (creation_of("h-1", "key-2", {"a": 1}), "referral.refused"),
        (creation_of("h-1", "key-1", {"a": 2}), "referral.refused"), (base, "referral.requested"))}
    assert len(ids) == 5
    assert derived_event_id(creation_of("h-1", "key-1", {"a": 1}), "referral.refused") in ids
    assert derived_event_id(None, "referral.refused") is None
