"""Reading and replaying the dead-letter queue.

Listing takes every message without acking and closes the channel, which puts
them all back untouched; bodies are never deserialized by kombu. An unreadable
letter (parked because its body was not UTF-8 JSON) keeps its bytes and its own
content type; it is listed with ``"unreadable": true`` and is never replayed. Replay
sends chosen ones back to their consumer's queue (through the requeue exchange,
attempt count reset) and only then acks them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amqp.exceptions import NotFound
from kombu import Connection

from services.kit import broker, topology


@dataclass(frozen=True)
class Replayed:
    """What a replay did: the letters sent back and the unreadable ones it refused to send."""

    replayed: list[DeadLetter]
    refused: list[DeadLetter]


@dataclass(frozen=True)
class DeadLetter:
    event_id: str | None
    event_type: str | None
    consumer: str
    error: str
    attempts: int
    parked_at: str
    body: str
    unreadable: bool = False
    content_type: str | None = None
    raw: bytes = b""

    def summary(self) -> dict[str, Any]:
        """What an operator sees: ids, consumer, error; never the body."""
        shown = {
            "event_id": self.event_id, "type": self.event_type, "consumer": self.consumer,
            "attempts": self.attempts, "parked_at": self.parked_at, "error": self.error,
            "unreadable": self.unreadable,
        }
        if self.unreadable:
            shown |= {"content_type": self.content_type, "size": len(self.raw)}
        return shown


def _as_dead_letter(message) -> DeadLetter:
    headers = message.headers or {}
    raw = broker.raw_body(message)
    unreadable = bool(headers.get(broker.UNREADABLE))
    try:
        body = "" if unreadable else raw.decode("utf-8")
        parsed = json.loads(body) if body else {}
    except ValueError:  # parked by an older kit, or not JSON: keep it but never replay it
        body, parsed, unreadable = "", {}, True
    parsed = parsed if isinstance(parsed, dict) else {}
    return DeadLetter(
        event_id=message.properties.get("message_id") or parsed.get("id"),
        event_type=parsed.get("type"),
        consumer=str(headers.get(broker.CONSUMER, "")),
        error=str(headers.get(broker.ERROR, "")),
        attempts=int(headers.get(broker.ATTEMPT, 0)),
        parked_at=str(headers.get(broker.PARKED_AT, "")),
        body=body, unreadable=unreadable, content_type=message.content_type, raw=raw,
    )


def _walk(connection: Connection, visit: Callable[[Any, DeadLetter], None]) -> None:
    channel = connection.channel()
    try:
        # Whatever its type (classic or quorum), the queue is read as it is: declared passively.
        queue = topology.DEAD_LETTERS(channel)
        try:
            queue.queue_declare(passive=True)
        except NotFound:
            return  # never declared: nothing was ever parked
        # ``get`` does not decode; the body is read by ``_as_dead_letter`` alone.
        while (message := queue.get(no_ack=False, accept=[broker.JSON])) is not None:
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
) -> Replayed:
    """Send matching dead letters back to their consumer.

    An unreadable letter is never sent (its body would be parked again, or worse,
    executed): it stays in the queue and is reported in ``refused``.
    """
    replayed: list[DeadLetter] = []
    refused: list[DeadLetter] = []

    def visit(message, letter: DeadLetter) -> None:
        if event_ids is not None and letter.event_id not in event_ids:
            return
        if consumer is not None and letter.consumer != consumer:
            return
        if not letter.consumer:
            return
        if letter.unreadable:
            refused.append(letter)
            return
        broker.publish(
            amqp_uri, letter.body, exchange=topology.REQUEUE, routing_key=letter.consumer,
            headers={broker.ATTEMPT: 1}, message_id=letter.event_id,
        )
        message.ack()
        replayed.append(letter)

    _walk(connection, visit)
    return Replayed(replayed, refused)
