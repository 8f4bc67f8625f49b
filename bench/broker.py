"""Raw broker baseline: what RabbitMQ and kombu alone manage on this machine.

- publish: persistent messages of an event's size, each waiting for the broker's confirm
  (as the product's outbox relay and retries publish);
- consume: the same messages taken with a prefetch window and acknowledged one by one (as
  every product consumer does).

No nameko, no database: the ceiling for anything that moves one message per step.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

from bench.context import BenchContext
from bench.stats import across_runs

BODY = json.dumps({
    "id": str(uuid.uuid4()), "type": "referral.requested", "version": 1,
    "occurred_at": "2026-11-01T10:00:00+00:00", "source": "referrals",
    "correlation_id": str(uuid.uuid4()), "causation_id": None,
    "payload": {"referral_id": str(uuid.uuid4()), "languages": ["es", "en"], "urgency": "routine",
                "allowed": {"agencies": [], "classes": ["peer_group"]}, "pad": "x" * 200},
})
PREFETCH = 100


def _publish(uri: str, queue: Queue, count: int) -> float:
    """Messages per second, each confirmed before the next is sent."""
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel(), exchange=Exchange(""))
        start = time.perf_counter()
        for _ in range(count):
            producer.publish(BODY, routing_key=queue.name, delivery_mode=2,
                             content_type="application/json", content_encoding="utf-8")
        return count / (time.perf_counter() - start)


def _consume(uri: str, queue: Queue, count: int) -> float:
    """Messages per second taken from a full queue, each acknowledged."""
    received = 0

    def on_message(_body: Any, message) -> None:
        nonlocal received
        message.ack()
        received += 1

    with Connection(uri) as conn:
        channel = conn.channel()
        channel.basic_qos(0, PREFETCH, False)
        with Consumer(channel, [queue], callbacks=[on_message], accept=["json"]):
            start = time.perf_counter()
            while received < count:
                conn.drain_events(timeout=10)
            return count / (time.perf_counter() - start)


def run(smoke: bool, context: BenchContext | None = None) -> dict:
    """``{"publish_confirmed", "consume_acked"}`` in messages/s, median and p99 over repeats."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    count, repeats = (500, 1) if smoke else (5_000, 3)
    queue = Queue(f"bench.broker.{context.run_id}", exchange=Exchange(""), durable=True)
    publishes, consumes = [], []
    with Connection(context.amqp_uri) as conn:
        queue(conn.default_channel).declare()
    for _ in range(repeats):
        publishes.append(_publish(context.amqp_uri, queue, count))
        consumes.append(_consume(context.amqp_uri, queue, count))
    with Connection(context.amqp_uri) as conn:
        queue(conn.default_channel).delete()
    return {"messages_per_run": count, "repeats": repeats, "prefetch": PREFETCH,
            "publish_confirmed_per_s": across_runs(publishes),
            "consume_acked_per_s": across_runs(consumes)}
