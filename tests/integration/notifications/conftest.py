"""The notifications service in a real container, with real receivers around it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.kit.crypto import generate_key
from services.notifications.service import NotificationsService
from tests.integration.migrated import migrated
from tests.integration.notifications.receivers import (
    SMS_ACCOUNT,
    SMS_FROM,
    SMS_TOKEN,
    HttpReceiver,
    Outcomes,
    Respond,
)
from tests.support import service_proxy
from tests.unit.notifications.notification_servers import Inbox, LocalController


@pytest.fixture
def http_receiver() -> Iterator[Callable[[Respond], HttpReceiver]]:
    started: list[HttpReceiver] = []

    def start(respond: Respond) -> HttpReceiver:
        started.append(HttpReceiver(respond).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real aiosmtpd server on 127.0.0.1: (its inbox, its port)."""
    mails = Inbox()
    controller = LocalController(mails, hostname="127.0.0.1")
    controller.start()
    yield mails, controller.port
    controller.stop()


@pytest.fixture
def sms_provider(http_receiver) -> HttpReceiver:
    """A local server speaking the Twilio Messages API's shape."""
    return http_receiver(lambda _request: (201, b'{"sid": "SM0001", "status": "queued"}'))


@pytest.fixture
def clock_file(tmp_path) -> Callable[[datetime], None]:
    """Sets the service's time (config ``CLOCK_FILE``) when a test needs to control it."""
    path = tmp_path / "clock"

    def set_time(at: datetime) -> None:
        path.write_text(at.isoformat())

    set_time.path = path  # type: ignore[attr-defined]
    return set_time


@pytest.fixture
def config(rabbit_config, database_url, inbox, sms_provider) -> dict[str, Any]:
    return {
        **rabbit_config,
        "DATABASE_URL": migrated("notifications", database_url),
        "FIELD_ENCRYPTION_KEYS": f"k1:{generate_key()}",
        "OUTBOX_POLL_SECONDS": 0.2,
        "EVENT_RETRY": {"max_attempts": 3, "base_delay_ms": 20},
        "DISPATCH_INTERVAL_SECONDS": 0.1,
        "ESCALATION_CHECK_SECONDS": 0.1,
        "DELIVERY_RETRY": {"max_attempts": 4, "base_seconds": 0.05, "cap_seconds": 0.2},
        "PUBLIC_BASE_URL": "https://network.example",
        "WEBHOOK_TIMEOUT_SECONDS": 2,
        # The receivers in these tests listen on 127.0.0.1 over plain HTTP.
        "WEBHOOK_REQUIRE_HTTPS": False,
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": True,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": inbox[1],
        "SMTP_STARTTLS": False,
        "SMTP_SENDER": "notifications@network.example",
        "SMS_BASE_URL": sms_provider.url,
        "SMS_ACCOUNT_SID": SMS_ACCOUNT,
        "SMS_AUTH_TOKEN": SMS_TOKEN,
        "SMS_FROM_NUMBER": SMS_FROM,
    }


@pytest.fixture
def start_service(container_factory) -> Callable[[dict[str, Any]], ServiceRpcProxy]:
    """Start the service with ``config`` and return an open RPC proxy to it."""
    proxies: list[ServiceRpcProxy] = []

    def start(config: dict[str, Any]):
        container_factory(NotificationsService, config).start()
        proxies.append(service_proxy("notifications", config))
        return proxies[-1].start()

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def notifications(start_service, config):
    """The running service (real time), as an RPC proxy."""
    return start_service(config)


@pytest.fixture
def outcomes(config) -> Iterator[Outcomes]:
    observer = Outcomes(config["AMQP_URI"])
    yield observer
    observer.close()


@pytest.fixture
def timed_notifications(start_service, config, clock_file):
    """The running service reading its time from ``clock_file`` (real time until it is set)."""
    return start_service({**config, "CLOCK_FILE": str(clock_file.path)})
