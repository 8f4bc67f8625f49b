"""Publishing to RabbitMQ: persistent messages, publisher confirms, pooled connections."""

from __future__ import annotations

import json
from typing import Any

from kombu import Connection, Exchange
from kombu.pools import producers

ATTEMPT = "x-rn-attempt"
CONSUMER = "x-rn-consumer"
ERROR = "x-rn-error"
PARKED_AT = "x-rn-parked-at"


def connect(amqp_uri: str) -> Connection:
    """A connection whose publishes wait for the broker's confirm."""
    return Connection(amqp_uri, transport_options={"confirm_publish": True}, heartbeat=0)


_pool_connections: dict[str, Connection] = {}


def publish(
    amqp_uri: str,
    body: dict[str, Any] | str,
    *,
    exchange: Exchange | str,
    routing_key: str,
    headers: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> None:
    """Publish one persistent JSON message and wait for the confirm. Raises on failure."""
    conn = _pool_connections.get(amqp_uri)
    if conn is None:  # one pooled connection per broker, made once
        conn = _pool_connections.setdefault(amqp_uri, connect(amqp_uri))
    payload = body if isinstance(body, str) else json.dumps(body)
    with producers[conn].acquire(block=True, timeout=10) as producer:
        producer.publish(
            payload,
            exchange=exchange,
            routing_key=routing_key,
            delivery_mode=2,
            content_type="application/json",
            content_encoding="utf-8",
            headers=headers or {},
            message_id=message_id,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )
