"""RabbitMQ: persistent messages, publisher confirms, pooled connections, strict JSON reading.

Only JSON is ever read: ``read_json`` takes a raw message and never lets kombu's
serializers (pickle, yaml, msgpack) near it.
"""

from __future__ import annotations

import json
from typing import Any

from kombu import Connection, Exchange
from kombu.pools import producers

ATTEMPT = "x-rn-attempt"
CONSUMER = "x-rn-consumer"
ERROR = "x-rn-error"
PARKED_AT = "x-rn-parked-at"
UNREADABLE = "x-rn-unreadable"  # on a dead letter whose body could not be read; it is kept raw
JSON = "application/json"
_UTF8 = {"utf-8", "utf8"}


class Unreadable(ValueError):
    """A message whose body cannot be read as a JSON event; ``str()`` says what was wrong."""


def read_json(message) -> Any:
    """The JSON body of a raw kombu message, decoded by the kit alone.

    Raises ``Unreadable`` naming what is wrong: a content type other than JSON, a
    compression, a content encoding other than UTF-8, bytes not valid UTF-8, or text
    that is not JSON. The body itself never appears in the reason.
    """
    content_type = (message.content_type or "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise Unreadable(f"unreadable: content type {_shown(message.content_type)} is not accepted")
    compression = (message.headers or {}).get("compression")
    if compression:
        raise Unreadable(f"unreadable: compression {_shown(compression)} is not supported")
    encoding = (message.content_encoding or "utf-8").strip().lower()
    if encoding not in _UTF8:
        raise Unreadable(f"unreadable: content encoding {_shown(message.content_encoding)} is not supported")
    raw = message.body  # py-amqp already decoded it to str if the declared encoding fit
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else str(raw)
    except UnicodeDecodeError as exc:
        raise Unreadable("unreadable: body is not valid utf-8") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unreadable("unreadable: body is not JSON") from exc


def raw_body(message) -> bytes:
    """The body exactly as it was published (before any decompression, see ``RawConsumer``).

    py-amqp decodes a body to ``str`` when its declared content encoding decodes it; encoding
    it back with that same codec gives the original bytes.
    """
    body = getattr(message, "raw_delivery", message.body)
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return str(body).encode(message.content_encoding or "utf-8")


def _shown(value: Any) -> str:
    return repr(value)[:80] if value else "(none)"


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
    payload = body if isinstance(body, str) else json.dumps(body)
    _send(amqp_uri, payload, exchange=exchange, routing_key=routing_key, headers=headers,
          message_id=message_id, content_type=JSON, content_encoding="utf-8")


def publish_raw(
    amqp_uri: str,
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None,
    routing_key: str,
    headers: dict[str, Any],
    message_id: str | None = None,
) -> None:
    """Publish ``body`` byte for byte under its own content type, never serialized. Raises on failure."""
    _send(amqp_uri, bytes(body), exchange="", routing_key=routing_key, headers=headers,
          message_id=message_id, content_type=content_type or "application/octet-stream",
          content_encoding=content_encoding or "binary")


def _send(amqp_uri: str, payload: str | bytes, *, exchange: Exchange | str, routing_key: str,
          headers: dict[str, Any] | None, message_id: str | None, content_type: str,
          content_encoding: str) -> None:
    conn = _pool_connections.get(amqp_uri)
    if conn is None:  # one pooled connection per broker, made once
        conn = _pool_connections.setdefault(amqp_uri, connect(amqp_uri))
    with producers[conn].acquire(block=True, timeout=10) as producer:
        producer.publish(
            payload,
            exchange=exchange,
            routing_key=routing_key,
            delivery_mode=2,
            content_type=content_type,
            content_encoding=content_encoding,
            headers=headers or {},
            message_id=message_id,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )
