"""A running gateway (real HTTP, real RabbitMQ) with the network operator, for the gateway's
tests; the consent service (which keeps the ledger) only for the tests that ask for it."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

import pytest
import requests

from gateway.service import GatewayService
from network.processes import free_port
from services.consent.service import ConsentService
from services.kit.crypto import generate_key
from tests.integration.gateway.agencies import PEPPER, insert_agency
from tests.integration.migrated import migrated

FIELD_KEYS = f"g1:{base64.b64encode(secrets.token_bytes(32)).decode()}"



@pytest.fixture
def gateway_clock(tmp_path) -> Callable[[datetime], None]:
    """Sets the gateway's time (config ``CLOCK_FILE``); real time until it is first set."""
    path = tmp_path / "gateway-clock"

    def set_time(at: datetime) -> None:
        path.write_text(at.isoformat())

    set_time.path = str(path)  # type: ignore[attr-defined]
    return set_time


@pytest.fixture
def gateway_config(rabbit_config, database_url, gateway_clock):
    return {
        **rabbit_config,
        "DATABASE_URL": migrated("gateway", database_url),
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "API_KEY_PEPPER": PEPPER,
        "FIELD_ENCRYPTION_KEYS": FIELD_KEYS,
        "RPC_TIMEOUT_SECONDS": 2,
        "OUTBOX_POLL_SECONDS": 0.5,
        "CLOCK_FILE": gateway_clock.path,
        # Longer than any test waits: a key change these tests see honoured was broadcast.
        "KEY_CACHE_SECONDS": 60,
    }


@pytest.fixture
def ledger_service(container_factory, rabbit_config, tmp_path):
    """The consent service on the gateway's broker, so changes to agencies and keys are ledgered."""
    def secret() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    container = container_factory(ConsentService, {
        **rabbit_config,
        "DATABASE_URL": migrated("consent", f"sqlite:///{tmp_path / 'consent.db'}"),
        "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}",
        "LEDGER_HMAC_KEY": secret(), "LEDGER_SIGNING_KEY": secret(),
        "OUTBOX_POLL_SECONDS": 0.2, "EXPIRY_CHECK_SECONDS": 3600, "LEDGER_CHECKPOINT_SECONDS": 3600,
        "LEDGER_CHECKPOINT_LOG": str(tmp_path / "ledger-checkpoints.jsonl"),
    })
    container.start()
    return container


class Api:
    """requests against the running gateway, with an agency's key when given."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def call(self, method: str, path: str, key: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return self.http.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def create(self, path: str, key: str, **kwargs) -> requests.Response:
        """A creating POST under a fresh Idempotency-Key (unless ``headers`` name one)."""
        headers = {"Idempotency-Key": uuid.uuid4().hex, **kwargs.pop("headers", {})}
        return self.call("POST", path, key, headers=headers, **kwargs)


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.start()
    return Api(f"http://{gateway_config['WEB_SERVER_ADDRESS']}")


@pytest.fixture
def admin_key(gateway, gateway_config) -> str:
    """The network operator's key, created the way `referral-network agency create` does."""
    return insert_agency(gateway_config, "Network Operations", "operator", ["operator"])[1]
