"""The outside world of the notifications service, for real: local HTTP receivers, an
observer of the events it publishes, and raw reads of its database."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from services.kit import broker, topology
from services.kit.contract import Event, new_event
from services.kit.db import make_engine
from services.notifications.adapters.orm import metadata
from tests.support import EventTap, HttpReceiver, Received, Respond  # noqa: F401 - re-exported for the tests

# The SMS provider account the service is configured with in these tests.
SMS_ACCOUNT = "ACtest0001"
SMS_TOKEN = "sms-token-not-a-real-one"
SMS_FROM = "+15555550199"


def answers(*statuses: int, then: int = 200, body: bytes = b"{}") -> Respond:
    """Answer the given statuses in turn, then ``then`` for every later request."""
    queue = list(statuses)
    return lambda _request: (queue.pop(0) if queue else then, body)


class Outcomes(EventTap):
    """``notification.*`` events: what the notifications service told the network."""

    def __init__(self, amqp_uri: str) -> None:
        super().__init__(amqp_uri, "notification.*", "test.notification-outcomes")


def publish(amqp_uri: str, type_: str, payload: dict[str, Any], **kwargs: Any) -> Event:
    """Publish a contract-valid event the way a producing service's relay does."""
    event = new_event(type_, payload, source="test", **kwargs)
    publish_again(amqp_uri, event)
    return event


def publish_again(amqp_uri: str, event: Event) -> None:
    broker.publish(amqp_uri, event.to_message(), exchange=topology.EVENTS, routing_key=event.type)


def raw_database_text(url: str) -> str:
    """Everything the database holds, as stored: file bytes on SQLite, rows as text on PostgreSQL."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        files: Iterable[Path] = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
        return "".join(p.read_bytes().decode("latin-1") for p in files)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                row[0] for name in metadata.tables
                for row in conn.execute(text(f'SELECT CAST(t AS text) FROM "{name}" t'))
            )
    finally:
        engine.dispose()
