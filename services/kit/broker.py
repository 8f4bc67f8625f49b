"""RabbitMQ: persistent messages, publisher confirms, pooled connections, strict JSON reading.

Only JSON is ever read: event consumers (``RawQueueConsumer``) get each delivery undecoded
and ``read_json`` reads it; kombu's pickle, YAML and msgpack decoders are removed outright.

A process survives the broker going away: every consumer (events, RPC requests, RPC replies)
runs in kombu's consumer loop, which reconnects and consumes again; an acknowledgement that
cannot reach the broker because its connection died is dropped with a warning
(``SurvivingQueueConsumer``), since the broker puts every unacknowledged message back and
delivers it again (the consumers' inbox makes that harmless). nameko's own consumer lets such
a failure escape and kill the whole process.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from functools import partial
from typing import Any

from kombu import Connection, Exchange
from kombu import Consumer as KombuConsumer
from kombu.exceptions import SerializerNotInstalled
from kombu.pools import producers
from kombu.serialization import registry as serializers
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener

ATTEMPT = "x-rn-attempt"
CONSUMER = "x-rn-consumer"
ERROR = "x-rn-error"
PARKED_AT = "x-rn-parked-at"
UNREADABLE = "x-rn-unreadable"  # on a dead letter whose body could not be read; it is kept raw
JSON = "application/json"
CONFIRM_SECONDS = 10.0  # the longest a publish waits for the broker's confirm
_UTF8 = {"utf-8", "utf8"}
log = logging.getLogger(__name__)


def _remove_unsafe_serializers() -> None:
    """Take pickle, YAML and msgpack out of kombu's registry, in every process that imports the kit.

    An ``accept`` list naming them would otherwise make kombu run them; once removed, nothing
    can decode them, and a nameko config with ``serializer``/``ACCEPT`` naming one fails at start.
    """
    for name in ("pickle", "yaml", "msgpack"):
        try:
            serializers.unregister(name)
        except SerializerNotInstalled:
            pass  # already gone


_remove_unsafe_serializers()


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
            confirm_timeout=CONFIRM_SECONDS,  # a silent connection fails and is retried, never holds
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )


class RawConsumer(KombuConsumer):
    """A kombu consumer that hands each delivery over as it came: no decompression, no deserializer.

    kombu's own callback decompresses and reports any failure to an error handler that
    acks and drops the message; this one keeps the delivered bytes (``raw_delivery``) and
    leaves every judgement to ``read_json``.
    """

    def _receive_callback(self, delivery) -> None:
        delivered = delivery.body
        message = self.channel.message_to_python(delivery)  # deserializes nothing
        message.accept = self.accept
        message.raw_delivery = delivered
        self.on_message(message)


class SurvivingQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but a lost acknowledgement never kills the process.

    An ack or requeue fails when the message's connection died (``ConnectionResetError``,
    py-amqp's ``RecoverableConnectionError``, a closed channel); nameko catches only one of
    those and the rest escape the worker and stop the container. The broker already gave the
    message back to the queue when the connection died, so it is delivered again after the
    consumer reconnects: there is nothing left to do but say so.
    """

    # Retry every 1, 2, ... up to 5 s while the broker is away (kombu's default grows to 30 s), so
    # consumers are back within seconds of the broker, however long it was gone.
    reconnect_interval_max = 5.0

    @contextmanager
    def establish_connection(self):
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries, interval_start=1,
                                   interval_step=1, interval_max=self.reconnect_interval_max)
            yield conn

    def ack_message(self, message) -> None:
        self._settle(message, "acknowledge", message.ack)

    def requeue_message(self, message) -> None:
        self._settle(message, "requeue", message.requeue)

    def _settle(self, message, what: str, settle) -> None:
        if not message.channel.connection:
            return  # the connection is gone: the broker has the message back already
        try:
            settle()
        except Exception as exc:  # noqa: BLE001 - any failure here means the channel is gone
            log.warning("could not %s a message (%s: %s); the broker will deliver it again",
                        what, type(exc).__name__, exc)


class SurvivingReplyListener(ReplyListener):
    """nameko's RPC reply listener on a ``SurvivingQueueConsumer``: a lost ack never stops the process."""

    queue_consumer = SurvivingQueueConsumer()


class RawQueueConsumer(SurvivingQueueConsumer):
    """Consumes event queues handing each provider the raw message (kombu decodes nothing).

    kombu's decoder would ack and drop a message it cannot decode, and with a wide
    accept list would unpickle one; here JSON is the only content accepted and the
    provider (an ``EventSubscriber``) reads the body itself with ``read_json``.
    """

    @property
    def accept(self) -> list[str]:
        return [JSON]

    def get_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            consumer = RawConsumer(
                channel, queues=[provider.queue], callbacks=[], accept=self.accept,
                on_message=partial(self.handle_raw_message, provider),
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def handle_raw_message(self, provider, message) -> None:
        """Hand ``message`` to ``provider.handle_raw_message`` in a managed thread."""
        ident = f"{type(provider).__name__}.handle_raw_message[{message.delivery_info['routing_key']}]"
        self.container.spawn_managed_thread(partial(provider.handle_raw_message, message), identifier=ident)
