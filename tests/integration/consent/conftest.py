"""The consent service in a real container on a real RabbitMQ, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.consent.service import ConsentService
from services.kit.crypto import generate_key
from tests.integration.consent.support import EventObserver
from tests.integration.migrated import migrated
from tests.support import service_proxy


def secret() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def config(rabbit_config, database_url) -> dict[str, Any]:
    return {
        **rabbit_config,
        "DATABASE_URL": migrated("consent", database_url),
        "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}",
        "LEDGER_HMAC_KEY": secret(),
        "LEDGER_SIGNING_KEY": secret(),
        "LEDGER_CHECKPOINT_EVERY": 10,
        "OUTBOX_POLL_SECONDS": 0.2,
        "EVENT_RETRY": {"max_attempts": 3, "base_delay_ms": 20},
        # Timers started but idle (their first tick is an hour away); tests that need them
        # shorten the interval.
        "EXPIRY_CHECK_SECONDS": 3600,
        "LEDGER_CHECKPOINT_SECONDS": 3600,
    }


@pytest.fixture
def clock_file(tmp_path) -> Callable[[datetime], None]:
    """Sets the service's time (config ``CLOCK_FILE``); real time until it is first set."""
    path = tmp_path / "clock"

    def set_time(at: datetime) -> None:
        path.write_text(at.isoformat())

    set_time.path = str(path)  # type: ignore[attr-defined]
    return set_time


@pytest.fixture
def start_service(container_factory) -> Iterator[Callable[..., Any]]:
    """Start a consent container with ``config`` (plus overrides); returns an open RPC proxy."""
    proxies: list[ServiceRpcProxy] = []

    def start(config: dict[str, Any], **overrides: Any):
        full = {**config, **overrides}
        container = container_factory(ConsentService, full)
        container.start()
        proxies.append(service_proxy("consent", full))
        proxy = proxies[-1].start()
        proxy.container = container  # lets a test stop this replica
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def consent(start_service, config):
    """The running service (real time, timers idle), as an RPC proxy."""
    return start_service(config)


@pytest.fixture
def events(config) -> Iterator[EventObserver]:
    observer = EventObserver(config["AMQP_URI"])
    yield observer
    observer.close()
