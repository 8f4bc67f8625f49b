"""Reading and replaying the dead-letter queue.

Listing takes every message without acking and closes the channel, which puts
them all back untouched. Replay sends chosen ones back to their consumer's queue
(through the requeue exchange, attempt count reset) and only then acks them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kombu import Connection

from services.kit import broker, topology


@dataclass(frozen=True)
class DeadLetter:
    event_id: str | None
    event_type: str | None
    consumer: str
    error: str
    attempts: int
    parked_at: str
    body: str

    def summary(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "type": self.event_type, "consumer": self.consumer,
            "attempts": self.attempts, "parked_at": self.parked_at, "error": self.error,
        }


def _as_dead_letter(message) -> DeadLetter:
    headers = message.headers or {}
    body = message.body.decode() if isinstance(message.body, bytes) else str(message.body)
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    parsed = parsed if isinstance(parsed, dict) else {}
    return DeadLetter(
        event_id=message.properties.get("message_id") or parsed.get("id"),
        event_type=parsed.get("type"),
        consumer=str(headers.get(broker.CONSUMER, "")),
        error=str(headers.get(broker.ERROR, "")),
        attempts=int(headers.get(broker.ATTEMPT, 0)),
        parked_at=str(headers.get(broker.PARKED_AT, "")),
        body=body,
    )


def _walk(connection: Connection, visit: Callable[[Any, DeadLetter], None]) -> None:
    channel = connection.channel()
    try:
        topology.DEAD_LETTERS(channel).declare()
        queue = topology.DEAD_LETTERS(channel)
        while (message := queue.get(no_ack=False, accept=["application/json"])) is not None:
            visit(message, _as_dead_letter(message))
    finally:
        channel.close()  # anything not acked goes back to the queue


def list_dead_letters(connection: Connection) -> list[DeadLetter]:
    found: list[DeadLetter] = []
    _walk(connection, lambda _message, letter: found.append(letter))
    return found


def replay(
    connection: Connection,
    amqp_uri: str,
    *,
    event_ids: set[str] | None = None,
    consumer: str | None = None,
) -> list[DeadLetter]:
    """Send matching dead letters back to their consumer; returns those replayed."""
    replayed: list[DeadLetter] = []

    def visit(message, letter: DeadLetter) -> None:
        if event_ids is not None and letter.event_id not in event_ids:
            return
        if consumer is not None and letter.consumer != consumer:
            return
        if not letter.consumer:
            return
        broker.publish(
            amqp_uri, letter.body, exchange=topology.REQUEUE, routing_key=letter.consumer,
            headers={broker.ATTEMPT: 1}, message_id=letter.event_id,
        )
        message.ack()
        replayed.append(letter)

    _walk(connection, visit)
    return replayed
