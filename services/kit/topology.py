"""The broker topology, declared before anything publishes.

- ``referral-network.events`` (topic): every event, routed by its type.
- one durable queue per consumer, named ``<service>.<handler>``, bound to the
  event types it handles and to ``referral-network.requeue`` under its own name
  (retries and dead-letter replays come back that way, to that consumer only).
- ``referral-network.delay.<ms>ms``: fanout exchange + queue whose messages expire
  after ``ms`` and fall back into the requeue exchange: the retry backoff.
- ``referral-network.dead-letters``: events a consumer gave up on, with the error.

Queues are classic by default; with ``QUEUE_TYPE=quorum`` (``QueueOptions``) every queue the kit
declares is a quorum queue, replicated over the cluster's nodes, with a delivery limit
(``QUEUE_DELIVERY_LIMIT``) past which the broker itself dead-letters a message into the dead
letters (at least once), whatever happened to the consumer that kept failing on it. A queue's type
cannot change in place: see docs/scaling.md for the switch. nameko's own RPC queues stay classic.

Consumers are declared beside their handlers (``@subscribe``) and collected by
``services.kit.consumers``; every relay declares all of them at start, so an event
published while its consumer is down waits for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Exchange, Queue, binding

EVENTS = Exchange("referral-network.events", type="topic", durable=True)
REQUEUE = Exchange("referral-network.requeue", type="direct", durable=True)
DEAD_LETTERS = Queue("referral-network.dead-letters", exchange=Exchange(""), durable=True)
QUEUE_TYPES = ("classic", "quorum")


@dataclass(frozen=True)
class QueueOptions:
    """Which kind of queue the kit declares: ``QUEUE_TYPE`` and ``QUEUE_DELIVERY_LIMIT`` in config."""

    queue_type: str = "classic"
    delivery_limit: int = 20

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> QueueOptions:
        """Raises ``ValueError`` for an unknown queue type or a delivery limit below 1."""
        queue_type = str(config.get("QUEUE_TYPE") or cls.queue_type).strip().lower()
        limit = config.get("QUEUE_DELIVERY_LIMIT")
        limit = cls.delivery_limit if limit in (None, "") else int(limit)
        if queue_type not in QUEUE_TYPES:
            raise ValueError(f"QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, not {queue_type!r}")
        if limit < 1:
            raise ValueError("QUEUE_DELIVERY_LIMIT must be at least 1")
        return cls(queue_type, limit)

    def arguments(self, *, dead_letters: bool = True) -> dict[str, Any]:
        """The ``x-`` arguments of a queue; ``dead_letters`` False for the dead letters themselves."""
        if self.queue_type == "classic":
            return {}
        arguments: dict[str, Any] = {"x-queue-type": "quorum"}
        if dead_letters:
            arguments.update({
                "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": DEAD_LETTERS.name,
                # Keep a message until the dead letters confirm it (needs reject-publish overflow).
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            })
        return arguments


CLASSIC = QueueOptions()


def dead_letters(options: QueueOptions = CLASSIC) -> Queue:
    return Queue(DEAD_LETTERS.name, exchange=Exchange(""), durable=True,
                 queue_arguments=options.arguments(dead_letters=False) or None)


def consumer_queue(name: str, event_types: Iterable[str], options: QueueOptions = CLASSIC) -> Queue:
    bindings = [binding(EVENTS, routing_key=t) for t in event_types]
    bindings.append(binding(REQUEUE, routing_key=name))
    return Queue(name, bindings=bindings, durable=True, queue_arguments=options.arguments() or None)


def delay_exchange(delay_ms: int) -> Exchange:
    return Exchange(f"referral-network.delay.{delay_ms}ms", type="fanout", durable=True)


def delay_queue(delay_ms: int, options: QueueOptions = CLASSIC) -> Queue:
    # Its messages expire into the requeue exchange: a delivery limit would not apply here.
    arguments = {**options.arguments(dead_letters=False), "x-message-ttl": delay_ms,
                 "x-dead-letter-exchange": REQUEUE.name}
    if options.queue_type == "quorum":
        arguments.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    return Queue(
        f"referral-network.delay.{delay_ms}ms",
        exchange=delay_exchange(delay_ms),
        durable=True,
        queue_arguments=arguments,
    )


def retry_delays(max_attempts: int, base_delay_ms: int) -> list[int]:
    """Backoff before attempt 2, 3, ...: base, 2·base, 4·base, ..."""
    return [base_delay_ms * 2**n for n in range(max(max_attempts - 1, 0))]


def declare(
    connection: Connection,
    subscriptions: Mapping[str, Iterable[str]] | None = None,
    delays_ms: Iterable[int] = (),
    options: QueueOptions = CLASSIC,
) -> None:
    """Declare the exchanges, the dead letters, the delay queues and the consumer queues (idempotent).

    ``subscriptions`` maps a consumer queue to its event types; ``None`` means every
    consumer of every registered service. Broker errors propagate (among them a queue that
    exists with another type than ``options`` asks for).
    """
    if subscriptions is None:
        # Imported here: the consumers module reads ``@subscribe``, which declares through this one.
        from services.kit.consumers import subscriptions as registered_consumers

        subscriptions = registered_consumers()
    channel = connection.default_channel
    for exchange in (EVENTS, REQUEUE):
        exchange(channel).declare()
    dead_letters(options)(channel).declare()
    for delay_ms in delays_ms:
        delay_exchange(delay_ms)(channel).declare()
        delay_queue(delay_ms, options)(channel).declare()
    for name, event_types in subscriptions.items():
        consumer_queue(name, event_types, options)(channel).declare()
