"""A unit of work is bounded: a database that stops answering costs a 503, never a held worker."""

from __future__ import annotations

import eventlet
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from services.kit.db import WriterGate, service_metadata
from services.kit.errors import DatabaseUnavailable, ServiceUnavailable
from services.kit.unit_of_work import UnitOfWork


@pytest.fixture
def uow_factory(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'bounds.db'}")
    factory = sessionmaker(engine, info={"metadata": service_metadata()})
    gate = WriterGate(serialise=True)
    yield lambda wait_seconds=0.2: UnitOfWork(factory, source="referrals", gate=gate,
                                              wait_seconds=wait_seconds)
    engine.dispose()


def test_a_unit_of_work_held_past_its_bound_ends_as_database_unavailable(uow_factory):
    uow = uow_factory()
    with pytest.raises(DatabaseUnavailable, match="referrals database did not answer within 0.2 s"):
        with uow:
            uow.session.execute(text("SELECT 1"))
            eventlet.sleep(2)  # a statement the server never answers
    assert isinstance(DatabaseUnavailable(), ServiceUnavailable)  # the gateway answers 503
    with uow:  # the writer gate was released and the next unit of work runs
        assert uow.session.execute(text("SELECT 1")).scalar() == 1


def test_the_bound_waits_on_the_writer_gate_too(uow_factory):
    holder, waiter = uow_factory(wait_seconds=None), uow_factory()
    with holder:
        with pytest.raises(DatabaseUnavailable):
            eventlet.spawn(lambda: waiter.__enter__()).wait()
    with waiter:
        pass


def test_an_operational_error_is_database_unavailable_and_other_errors_pass_unchanged(uow_factory):
    uow = uow_factory(wait_seconds=5)
    with pytest.raises(DatabaseUnavailable, match="unavailable or too slow") as raised:
        with uow:
            uow.session.execute(text("SELECT * FROM no_such_table"))
    assert isinstance(raised.value.__cause__, OperationalError)
    with pytest.raises(KeyError):
        with uow:
            raise KeyError("not the database's fault")


def test_a_unit_of_work_within_its_bound_is_untouched_and_check_reports_the_database(uow_factory):
    uow = uow_factory(wait_seconds=1)
    with uow:
        eventlet.sleep(0.05)
        assert uow.session.execute(text("SELECT 2")).scalar() == 2
    eventlet.sleep(1.2)  # a cancelled bound never fires later, outside the unit of work
    assert uow.check() == "ok"
