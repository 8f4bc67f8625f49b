"""A test's own queue on the product's event exchange: what was published, as consumers get it."""

from __future__ import annotations

import json
from typing import Any

from kombu import Connection, Queue, binding

from services.kit import topology


class EventTap:
    """A queue bound to every event of the product's exchange, declared before anything runs."""

    def __init__(self, amqp_uri: str, name: str = "test.tap") -> None:
        self.connection = Connection(amqp_uri)
        with Connection(amqp_uri) as conn:
            topology.declare(conn)
        self.queue = Queue(name, bindings=[binding(topology.EVENTS, routing_key="#")],
                           durable=False)
        self.queue(self.connection.default_channel).declare()
        # One consumer for the tap's life: a consumer left behind by an earlier look would take
        # the events that arrive after it, and a later look would never see them.
        self.consumer = self.connection.SimpleQueue(self.queue)
        self.seen: list[dict[str, Any]] = []

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Everything published so far (optionally of one type), in arrival order."""
        while True:
            try:
                message = self.consumer.get(block=True, timeout=0.05)
            except (TimeoutError, self.consumer.Empty):
                break
            self.seen.append(json.loads(message.body))
            message.ack()
        return [e for e in self.seen if type_ is None or e["type"] == type_]

    def close(self) -> None:
        self.consumer.close()
        self.connection.release()
