"""The outside world of the notifications service, for real: local HTTP receivers and an
observer of the events it publishes."""

from __future__ import annotations

from typing import Any

from services.kit import broker, topology
from services.kit.contract import Event, new_event
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
