"""Two gateway processes on one database and one broker, each keeping the keys it read
(``KEY_CACHE_SECONDS``, long here so only a broadcast can end an entry in time): a key revoked or
rotated, or an agency deactivated or reactivated, through one gateway is honoured by the other
within moments, and a gateway that loses its invalidation listener stops trusting what it kept.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from gateway.adapters.orm import api_keys
from network.processes import ROOT, command, free_port
from services.kit.db import make_engine
from tests.integration.gateway.agencies import PEPPER, insert_agency
from tests.integration.gateway.conftest import FIELD_KEYS, Api
from tests.integration.migrated import migrated

# Far longer than any wait below: an entry that ends in time was ended by a broadcast.
CACHE_SECONDS = "60"
PROMPTLY = 15.0  # seconds: a bounded wait for another process to act, not a timing claim
LISTENING = "the key cache hears key changes"


def wait(condition: Callable[[], bool], what: str, timeout: float = PROMPTLY) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


class Gateway(Api):
    def __init__(self, process: subprocess.Popen, log: Path, base: str) -> None:
        super().__init__(base)
        self.process = process
        self.log = log

    def listening_count(self) -> int:
        return self.log.read_text(errors="replace").count(LISTENING)

    def status(self, key: str) -> int:
        return self.call("GET", "/v1/agencies", key).status_code


@pytest.fixture
def shared(rabbit_config, postgres_url) -> dict:
    return {"AMQP_URI": rabbit_config["AMQP_URI"], "DATABASE_URL": migrated("gateway", postgres_url)}


@pytest.fixture
def gateways(shared, ledger_service, tmp_path) -> Iterator[tuple[Gateway, Gateway]]:
    """Gateways A and B as real processes (``nameko run``), the consent service keeping the ledger."""
    started: list[Gateway] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"gateway-{name}.log"
            env = {**os.environ, "AMQP_URI": shared["AMQP_URI"],
                   "GATEWAY_DATABASE_URL": shared["DATABASE_URL"], "GATEWAY_PORT": str(port),
                   "API_KEY_PEPPER": PEPPER, "GATEWAY_FIELD_ENCRYPTION_KEYS": FIELD_KEYS,
                   "KEY_CACHE_SECONDS": CACHE_SECONDS, "RPC_TIMEOUT_SECONDS": "3",
                   "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
            with log.open("ab") as out:
                process = subprocess.Popen(command("gateway"), cwd=ROOT, env=env, stdout=out,
                                           stderr=subprocess.STDOUT)
            started.append(Gateway(process, log, f"http://127.0.0.1:{port}"))
        for gateway in started:
            wait(lambda g=gateway: g.process.poll() is None and g.listening_count() > 0,
                 f"{gateway.base} listening\n{gateway.log.read_text(errors='replace')[-3000:]}",
                 timeout=60)
        yield started[0], started[1]
    finally:
        for gateway in started:
            gateway.process.terminate()
        for gateway in started:
            try:
                gateway.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                gateway.process.kill()
                gateway.process.wait(timeout=10)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def revoke_behind_the_gateways_back(shared: dict, key_id: str) -> None:
    """A change no gateway hears of (written straight into the database)."""
    engine = make_engine(shared["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            connection.execute(update(api_keys).where(api_keys.c.key_id == key_id)
                               .values(revoked_at=datetime.now(UTC)))
    finally:
        engine.dispose()


def test_a_key_revoked_or_rotated_through_one_gateway_is_refused_by_the_other_at_once(gateways, shared):
    a, b = gateways
    clinic, clinic_key = insert_agency(shared, "Eastside Clinic", "clinic", ["referrer", "admin"])
    keys_path = f"/v1/agencies/{clinic['id']}/keys"
    intake = ok(a.call("POST", keys_path, clinic_key, json={"name": "intake", "roles": ["referrer"]}), 201)
    spare = ok(a.call("POST", keys_path, clinic_key, json={"name": "spare", "roles": ["referrer"]}), 201)

    # A key made a moment ago through A works at once on B; B now keeps it.
    assert b.status(intake["api_key"]) == 200
    assert b.status(spare["api_key"]) == 200
    assert b.status(clinic_key) == 200
    # B really answers from what it kept: a revocation nobody broadcast is not seen there yet.
    revoke_behind_the_gateways_back(shared, spare["id"])
    assert b.status(spare["api_key"]) == 200
    assert a.status(spare["api_key"]) == 401  # A never read it, so reads it now

    ok(a.call("POST", f"{keys_path}/{intake['id']}/revoke", clinic_key))
    assert a.status(intake["api_key"]) == 401  # the gateway that revoked it: the very next request
    wait(lambda: b.status(intake["api_key"]) == 401, "B refuses the revoked key")

    old_id = clinic_key.split("_")[1]
    new = ok(a.call("POST", f"{keys_path}/{old_id}/rotate", clinic_key, json={"overlap_seconds": 0}), 201)
    assert a.status(clinic_key) == 401
    wait(lambda: b.status(clinic_key) == 401, "B refuses the key rotated without overlap")
    assert b.status(new["api_key"]) == 200


def test_an_agency_deactivated_or_reactivated_through_one_gateway_is_honoured_by_the_other(gateways, shared):
    a, b = gateways
    _, operator_key = insert_agency(shared, "Network Operations", "operator", ["operator"])
    hospital, hospital_key = insert_agency(shared, "St. Mary Hospital", "hospital", ["referrer"])
    assert b.status(hospital_key) == 200

    ok(a.call("POST", f"/v1/agencies/{hospital['id']}/deactivate", operator_key))
    assert a.status(hospital_key) == 401
    wait(lambda: b.status(hospital_key) == 401, "B refuses the deactivated agency's key")

    ok(a.call("POST", f"/v1/agencies/{hospital['id']}/reactivate", operator_key))
    wait(lambda: b.status(hospital_key) == 200, "B takes the reactivated agency's key again")


def test_a_gateway_that_loses_its_listener_reads_every_key_until_it_hears_again(
        gateways, shared, rabbit_manager):
    a, b = gateways
    clinic, clinic_key = insert_agency(shared, "Eastside Clinic", "clinic", ["referrer", "admin"])
    spare = ok(a.call("POST", f"/v1/agencies/{clinic['id']}/keys", clinic_key,
                      json={"name": "spare", "roles": ["referrer"]}), 201)
    assert b.status(spare["api_key"]) == 200
    revoke_behind_the_gateways_back(shared, spare["id"])
    assert b.status(spare["api_key"]) == 200  # kept

    vhost = urlsplit(shared["AMQP_URI"]).path[1:]
    name = f"gateway key cache {b.process.pid}"

    def listener_connections() -> list[str]:
        return [c["name"] for c in rabbit_manager.get_connections()
                if c.get("vhost") == vhost
                and (c.get("client_properties") or {}).get("connection_name") == name]

    wait(listener_connections, "B's listener connection on the broker's management pages", timeout=30)
    heard = b.listening_count()
    for connection in listener_connections():
        rabbit_manager.delete_connection(connection)
    # Once the listener knows it was cut, nothing kept before is used: B reads the row again.
    wait(lambda: b.status(spare["api_key"]) == 401, "B stops trusting what it kept")
    wait(lambda: b.listening_count() > heard, "B's listener connected again")
