"""The broker topology, declared before anything publishes.

- ``referral-network.events`` (topic): every event, routed by its type.
- one durable queue per consumer, named ``<service>.<handler>``, bound to the
  event types it handles and to ``referral-network.requeue`` under its own name
  (retries and dead-letter replays come back that way, to that consumer only).
- ``referral-network.delay.<ms>ms``: fanout exchange + queue whose messages expire
  after ``ms`` and fall back into the requeue exchange: the retry backoff.
- ``referral-network.dead-letters``: events a consumer gave up on, with the error.

Consumers are declared beside their handlers (``@subscribe``) and collected by
``services.kit.consumers``; every relay declares all of them at start, so an event
published while its consumer is down waits for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kombu import Connection, Exchange, Queue, binding

EVENTS = Exchange("referral-network.events", type="topic", durable=True)
REQUEUE = Exchange("referral-network.requeue", type="direct", durable=True)
DEAD_LETTERS = Queue("referral-network.dead-letters", exchange=Exchange(""), durable=True)


def consumer_queue(name: str, event_types: Iterable[str]) -> Queue:
    bindings = [binding(EVENTS, routing_key=t) for t in event_types]
    bindings.append(binding(REQUEUE, routing_key=name))
    return Queue(name, bindings=bindings, durable=True)


def delay_exchange(delay_ms: int) -> Exchange:
    return Exchange(f"referral-network.delay.{delay_ms}ms", type="fanout", durable=True)


def delay_queue(delay_ms: int) -> Queue:
    return Queue(
        f"referral-network.delay.{delay_ms}ms",
        exchange=delay_exchange(delay_ms),
        durable=True,
        queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": REQUEUE.name},
    )


def retry_delays(max_attempts: int, base_delay_ms: int) -> list[int]:
    """Backoff before attempt 2, 3, ...: base, 2·base, 4·base, ..."""
    return [base_delay_ms * 2**n for n in range(max(max_attempts - 1, 0))]


def declare(
    connection: Connection,
    subscriptions: Mapping[str, Iterable[str]] | None = None,
    delays_ms: Iterable[int] = (),
) -> None:
    """Declare the exchanges, the dead letters, the delay queues and the consumer queues (idempotent).

    ``subscriptions`` maps a consumer queue to its event types; ``None`` means every
    consumer of every registered service. Broker errors propagate.
    """
    if subscriptions is None:
        # Imported here: the consumers module reads ``@subscribe``, which declares through this one.
        from services.kit.consumers import subscriptions as registered_consumers

        subscriptions = registered_consumers()
    channel = connection.default_channel
    for exchange in (EVENTS, REQUEUE):
        exchange(channel).declare()
    DEAD_LETTERS(channel).declare()
    for delay_ms in delays_ms:
        delay_exchange(delay_ms)(channel).declare()
        delay_queue(delay_ms)(channel).declare()
    for name, event_types in subscriptions.items():
        consumer_queue(name, event_types)(channel).declare()
