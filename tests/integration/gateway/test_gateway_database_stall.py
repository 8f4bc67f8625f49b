"""The gateway's own database stalls for longer than the gateway's deadline (PostgreSQL behind a
proxy that stops carrying bytes, or an outside exclusive lock on the SQLite file): every request is
still answered in time, readiness says which database, and a retry afterwards creates exactly once."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

import eventlet
import pytest
from sqlalchemy import func, select

from gateway.adapters.orm import agencies
from services.kit.db import make_engine
from tests.harness.proxy import tcp_proxy
from tests.harness.stall import locked_sqlite
from tests.integration.gateway.test_gateway_front_door import assert_problem

pytestmark = pytest.mark.fault
DEADLINE = 4.0


@pytest.fixture
def postgres_proxy():
    with tcp_proxy(5432) as proxy:
        yield proxy


@pytest.fixture
def gateway_config(gateway_config, postgres_proxy):
    url = gateway_config["DATABASE_URL"].replace("@127.0.0.1:5432/", f"@{postgres_proxy.address}/")
    return {**gateway_config, "DATABASE_URL": url, "GATEWAY_DEADLINE_SECONDS": DEADLINE,
            "DATABASE_WAIT_SECONDS": 1.5, "DATABASE_BUSY_TIMEOUT_MS": 500}


@contextmanager
def stalled(database_url: str, proxy):
    if database_url.startswith("sqlite"):
        with locked_sqlite(database_url):
            yield
    else:
        proxy.freeze()
        try:
            yield
        finally:
            proxy.thaw()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_stalled_gateway_database_gives_503_within_the_deadline_and_loses_nothing(
        gateway, admin_key, gateway_config, postgres_proxy, ledger_service):
    agency = {"name": f"Stall House {uuid.uuid4().hex[:6]}", "kind": "sober_living", "roles": ["referrer"]}
    warm = gateway.call("POST", "/v1/agencies", admin_key, json={**agency, "name": "Warm-up"},
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert warm.status_code == 201, warm.text
    keys = [str(uuid.uuid4()) for _ in range(6)]

    def create(key: str):
        return timed(lambda: gateway.call("POST", "/v1/agencies", admin_key, json={**agency, "name": key},
                                          headers={"Idempotency-Key": key}))

    with stalled(gateway_config["DATABASE_URL"], postgres_proxy):
        answered = list(eventlet.GreenPool(6).imap(create, keys))
        ready, ready_took = timed(lambda: gateway.call("GET", "/ready"))
    for response, took in answered:
        assert took < DEADLINE + 1, f"answered after {took:.1f} s"
        assert_problem(response, 503, "service_unavailable")
        assert response.headers.get("Retry-After")
    assert ready.status_code == 503 and ready_took < DEADLINE + 1
    if gateway_config["DATABASE_URL"].startswith("postgresql"):
        assert ready.json()["gateway"] == {"database": "unavailable"}

    # The database is back: each retry with its key creates its agency, once.
    for key in keys:
        again = gateway.call("POST", "/v1/agencies", admin_key, json={**agency, "name": key},
                             headers={"Idempotency-Key": key})
        assert again.status_code == 201, again.text
        replay = gateway.call("POST", "/v1/agencies", admin_key, json={**agency, "name": key},
                              headers={"Idempotency-Key": key})
        assert replay.json()["id"] == again.json()["id"]
    assert gateway.call("GET", "/ready").json()["gateway"] == {"database": "ok"}
    assert agencies_named(gateway_config["DATABASE_URL"], keys) == {key: 1 for key in keys}


def agencies_named(database_url: str, names: list[str]) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(agencies.c.name, func.count()).where(agencies.c.name.in_(names))
                                .group_by(agencies.c.name))
            return dict(rows.all())
    finally:
        engine.dispose()
