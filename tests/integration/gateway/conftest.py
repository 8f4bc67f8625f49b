"""A running gateway (real HTTP, real RabbitMQ) with an admin agency, for the gateway's tests."""

from __future__ import annotations

import base64
import secrets

import pytest
import requests
from sqlalchemy.orm import sessionmaker

from gateway.adapters.stores import create_agency
from gateway.service import GatewayService
from network.processes import free_port
from services.kit.db import make_engine
from tests.integration.migrated import migrated

PEPPER = secrets.token_hex(32)
FIELD_KEYS = f"g1:{base64.b64encode(secrets.token_bytes(32)).decode()}"



@pytest.fixture
def gateway_config(rabbit_config, database_url):
    return {
        **rabbit_config,
        "DATABASE_URL": migrated("gateway", database_url),
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "API_KEY_PEPPER": PEPPER,
        "FIELD_ENCRYPTION_KEYS": FIELD_KEYS,
        "RPC_TIMEOUT_SECONDS": 2,
        "OUTBOX_POLL_SECONDS": 0.5,
    }


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


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.start()
    return Api(f"http://{gateway_config['WEB_SERVER_ADDRESS']}")


@pytest.fixture
def admin_key(gateway, gateway_config) -> str:
    """The first admin, created the way `referral-network agency create` does."""
    engine = make_engine(gateway_config["DATABASE_URL"])
    try:
        with sessionmaker(engine)() as session:
            _, key = create_agency(session, PEPPER.encode(), name="Network Admin", kind="clinic",
                                   roles=["admin"])
            session.commit()
    finally:
        engine.dispose()
    return key
