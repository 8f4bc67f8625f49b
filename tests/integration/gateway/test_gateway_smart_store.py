"""SMART clients' records in SQL, on SQLite and PostgreSQL: an assertion id is spent once per
client, a token resolves to its client's agency until it expires or the client is revoked, and
spent ids and expired tokens are purged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from gateway import smart, smart_clients
from gateway.adapters import smart_store as store
from gateway.adapters.orm import metadata
from gateway.adapters.stores import create_agency
from gateway.exceptions import Unauthenticated
from services.kit.db import make_engine
from services.kit.unit_of_work import UnitOfWork
from tests.integration.migrated import migrated

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PEPPER = b"p" * 32


@pytest.fixture
def uow(database_url):
    engine = make_engine(migrated("gateway", database_url))
    yield UnitOfWork(sessionmaker(engine, info={"metadata": metadata}), source="gateway")
    engine.dispose()


@pytest.fixture
def client_id(uow) -> str:
    client_id = str(uuid.uuid4())
    with uow:
        agency, _ = create_agency(uow.session, PEPPER, name="Eastside Clinic", kind="clinic",
                                  roles=["referrer", "admin"])
        store.insert_client(uow.session, client_id=client_id, agency_id=agency["id"], name="ehr",
                            jwks={"keys": []}, jwks_uri=None, scopes=["system/Task.rs"],
                            roles=["referrer"], now=T0)
        uow.commit()
    return client_id


def issue(uow, client_id: str, expires_at: datetime) -> str:
    issued = smart.issue_access_token(PEPPER)
    with uow:
        store.insert_token(uow.session, token_id=issued.token_id, client_id=client_id, digest=issued.digest,
                           scopes=["system/Task.rs"], now=T0, expires_at=expires_at)
        uow.commit()
    return issued.token


def test_a_token_acts_for_its_client_until_it_expires_or_the_client_is_revoked(uow, client_id):
    token = issue(uow, client_id, T0 + timedelta(minutes=5))
    caller = smart_clients.principal_of(uow, PEPPER, T0 + timedelta(minutes=1), token)
    assert caller.actor == "smart:ehr" and caller.roles == {"referrer"}
    assert caller.scopes == {"system/Task.rs"}
    with pytest.raises(Unauthenticated):
        smart_clients.principal_of(uow, PEPPER, T0 + timedelta(minutes=5), token)
    with pytest.raises(Unauthenticated):  # the right id with another secret
        smart_clients.principal_of(uow, PEPPER, T0, token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))
    with uow:
        store.revoke_client(uow.session, client_id, T0 + timedelta(minutes=2))
        uow.commit()
    with pytest.raises(Unauthenticated):
        smart_clients.principal_of(uow, PEPPER, T0 + timedelta(minutes=3), token)


def test_an_assertion_id_is_spent_once_per_client_and_forgotten_once_expired(uow, client_id):
    assert store.spend_jti(uow, client_id, "old", T0 + timedelta(minutes=1))
    assert not store.spend_jti(uow, client_id, "old", T0 + timedelta(minutes=1))
    assert store.spend_jti(uow, str(uuid.uuid4()), "old", T0 + timedelta(minutes=1))  # another client's
    assert store.spend_jti(uow, client_id, "live", T0 + timedelta(minutes=10))
    issue(uow, client_id, T0 + timedelta(minutes=1))
    live = issue(uow, client_id, T0 + timedelta(minutes=10))
    assert smart_clients.purge(uow, T0 + timedelta(minutes=2)) == 3
    assert store.spend_jti(uow, client_id, "old", T0 + timedelta(minutes=5))  # forgotten, as it expired
    assert not store.spend_jti(uow, client_id, "live", T0 + timedelta(minutes=10))
    assert smart_clients.principal_of(uow, PEPPER, T0 + timedelta(minutes=3), live).agency_id
