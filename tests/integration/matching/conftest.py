"""The matching service in a real container, against a real RabbitMQ and SQLite/PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.matching.service import MatchingService
from tests.integration.matching.world import EventLog
from tests.integration.migrated import migrated
from tests.support import service_proxy


class ClockFile:
    """The service's time (config ``CLOCK_FILE``): real time until a test sets it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, at: datetime) -> datetime:
        self.path.write_text(at.isoformat())
        return at


@pytest.fixture
def clock(tmp_path) -> ClockFile:
    return ClockFile(tmp_path / "clock")


@pytest.fixture
def service_config(rabbit_config, clock) -> dict[str, Any]:
    """Everything but the database."""
    return {
        **rabbit_config,
        "OUTBOX_POLL_SECONDS": 0.1,
        "EVENT_RETRY": {"max_attempts": 3, "base_delay_ms": 20},
        "CLOCK_FILE": str(clock.path),
        # Tests call rebalance() themselves; the expiry test turns the timers on.
        "TIMERS_ENABLED": False,
    }


@pytest.fixture
def config(service_config, database_url) -> dict[str, Any]:
    """Runs a test once on SQLite and once on PostgreSQL."""
    return {**service_config, "DATABASE_URL": migrated("matching", database_url)}


@pytest.fixture
def events(rabbit_config) -> Iterator[EventLog]:
    """Declared before the service starts, so no event of the test is missed."""
    log = EventLog(rabbit_config["AMQP_URI"])
    yield log
    log.close()


@pytest.fixture
def start_matching(container_factory, events) -> Iterator[Callable[..., Any]]:
    """Start the service with a config and return an open RPC proxy to it."""
    proxies: list[ServiceRpcProxy] = []

    def start(config: dict[str, Any]):
        container_factory(MatchingService, config).start()
        proxies.append(service_proxy("matching", config))
        return proxies[-1].start()

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def matching(start_matching, config):
    """The running service, as an RPC proxy."""
    return start_matching(config)
