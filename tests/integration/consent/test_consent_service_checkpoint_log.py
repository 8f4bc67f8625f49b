"""The ledger's tail cannot be cut unnoticed: checkpoints also land in a log outside the database
(every N rows and when the service stops), and cutting the last rows together with the
checkpoints stored beside them is reported — by the service and by an auditor's export check."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from gateway import handlers as gateway_handlers
from gateway.adapters.stores import create_agency
from gateway.auth import pepper_from_setting
from gateway.service import GatewayService
from network.processes import free_port
from services.consent.adapters.checkpoint_log import CheckpointLog
from services.consent.ledger_export import load_public_key, parse_export_lines, verify_export
from services.kit.crypto import generate_key
from services.kit.db import make_engine
from tests.integration.consent.support import HOSPITAL, PEER_2, ask, grant_request
from tests.integration.migrated import migrated


def export(consent, page: int = 7) -> list[str]:
    """The whole ledger through the export RPC, as the gateway streams it (JSON lines)."""
    first = consent.export_ledger(None, page, None)
    items, current = list(first["items"]), first
    while len(current["items"]) == page and items[-1]["seq"] < first["head"]:
        current = consent.export_ledger(items[-1]["seq"], page, first["head"])
        items += current["items"]
    return [json.dumps(item) + "\n" for item in items]


def auditor_check(config, lines: list[str], log: CheckpointLog, pem: str) -> dict:
    hmac_key = base64.b64decode(config["LEDGER_HMAC_KEY"])
    return verify_export(parse_export_lines(lines), log.read(), hmac_key, load_public_key(pem.encode()))


def test_a_cut_tail_with_its_stored_checkpoints_is_caught_by_the_outside_log(
        start_service, config, tmp_path):
    log = CheckpointLog(tmp_path / "outside" / "ledger-checkpoints.jsonl")
    config = {**config, "LEDGER_CHECKPOINT_LOG": str(log.path)}
    consent = start_service(config)
    granted = consent.grant(HOSPITAL, grant_request())
    for _ in range(25):
        assert consent.authorize(**ask(granted, recipient=PEER_2))["permit"]
    assert [c.count for c in log.read()] == [10, 20]  # every LEDGER_CHECKPOINT_EVERY rows
    pem = consent.public_key()
    intact = export(consent)
    assert auditor_check(config, intact, log, pem) == {"ok": True, "entries": 26, "checkpointed": 20}

    consent.container.stop()  # a graceful stop signs the head
    assert [c.count for c in log.read()] == [10, 20, 26]

    engine = make_engine(config["DATABASE_URL"])
    with engine.begin() as conn:  # cut the last rows and every checkpoint that covered them
        conn.execute(text("DELETE FROM ledger WHERE seq > 21"))
        conn.execute(text("DELETE FROM ledger_checkpoints WHERE count > 20"))
    engine.dispose()

    restarted = start_service(config)
    found = restarted.verify_ledger()
    assert (found["ok"], found["kind"], found["first_bad_seq"]) == (False, "truncated", 22)
    cut = export(restarted)
    assert len(cut) == 21
    audited = auditor_check(config, cut, log, restarted.public_key())
    assert (audited["ok"], audited["kind"], audited["first_bad_seq"]) == (False, "truncated", 22)


def test_without_the_outside_log_the_same_cut_would_pass(start_service, config):
    """The reason the log exists: the database's own checkpoints go with the rows."""
    consent = start_service(config)
    granted = consent.grant(HOSPITAL, grant_request())
    for _ in range(25):
        consent.authorize(**ask(granted, recipient=PEER_2))
    engine = make_engine(config["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger WHERE seq > 21"))
        conn.execute(text("DELETE FROM ledger_checkpoints WHERE count > 20"))
    engine.dispose()
    assert consent.verify_ledger() == {"ok": True, "entries": 21}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_gateway_streams_a_ledger_longer_than_a_page_and_publishes_its_key(
        start_service, config, container_factory, rabbit_config, tmp_path, monkeypatch):
    monkeypatch.setattr(gateway_handlers, "EXPORT_PAGE", 4)  # three pages and a bit
    consent = start_service(config)
    granted = consent.grant(HOSPITAL, grant_request())
    for _ in range(12):
        consent.authorize(**ask(granted, recipient=PEER_2))
    pepper = "p" * 64
    gateway_config = {**rabbit_config, "API_KEY_PEPPER": pepper, "RPC_TIMEOUT_SECONDS": 5,
                      "FIELD_ENCRYPTION_KEYS": f"g1:{generate_key()}",
                      "DATABASE_URL": migrated("gateway", f"sqlite:///{tmp_path / 'gateway.db'}"),
                      "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}
    container_factory(GatewayService, gateway_config).start()
    engine = make_engine(gateway_config["DATABASE_URL"])
    with sessionmaker(engine)() as session:
        _, admin_key = create_agency(session, pepper_from_setting(pepper), name="Operations",
                                     kind="operator", roles=["operator"])
        session.commit()
    engine.dispose()
    base = f"http://{gateway_config['WEB_SERVER_ADDRESS']}"

    response = requests.get(f"{base}/v1/audit/ledger/export", stream=True, timeout=30,
                            headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 200 and response.headers.get("Transfer-Encoding") == "chunked"
    lines = [line.decode() for line in response.iter_lines() if line]
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 14))
    pem = requests.get(f"{base}/v1/audit/public-key", timeout=30).text
    assert pem == consent.public_key()
    result = auditor_check(config, lines, CheckpointLog(tmp_path / "none.jsonl"), pem)
    assert (result["ok"], result["entries"]) == (True, 13)
    refused = requests.get(f"{base}/v1/audit/ledger/export", timeout=30)
    assert refused.status_code == 401
