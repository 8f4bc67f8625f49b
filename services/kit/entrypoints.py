"""``@subscribe(...)``: the event consumer every service uses; ``@rpc``: nameko's RPC, surviving the broker.

- The queue is ``<service>.<method>``, durable, bound to the given event types.
- Messages are read by the kit, never by kombu's decoder: anything that is not
  UTF-8 JSON (a pickle, plain text, an unknown encoding, broken bytes) is parked
  raw in the dead-letter queue with the reason, never executed, and the stream goes on.
- Each message is validated against the contract; an invalid or unknown event is
  parked in the dead-letter queue at once (it will never succeed) and the stream goes on.
- A handler that raises is retried through the delay queues with exponential
  backoff (``EVENT_RETRY``: ``max_attempts``, ``base_delay_ms``); after the last
  attempt the event is parked with its error. The original is acked only after
  its retry or dead letter is confirmed by the broker, so nothing is lost.

``@rpc`` is nameko's RPC entrypoint on a ``SurvivingQueueConsumer``: a reply that cannot be
sent because the broker is gone is logged, not fatal (the caller's deadline answers it), and
the request is acknowledged as done if the connection still allows. A request whose caller's
deadline (header ``CALLER_DEADLINE``, seconds since the epoch) has passed by the time a worker is
free for it is acknowledged and dropped, unrun and unanswered: its caller has already answered
503 and its client will retry, so running it late would only do the work twice.

``@every("CONFIG_KEY", seconds)``: a timer configured per deployment; with ``wakeable=True``
the service's workers may ask for its next tick now through the ``Wake`` dependency.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from eventlet import Timeout as GreenTimeout
from eventlet.event import Event as GreenEvent
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from nameko.rpc import Responder, Rpc, RpcConsumer, get_rpc_exchange
from nameko.timer import Timer

from services.kit import broker, topology
from services.kit.contract import ContractError, parse_event
from services.kit.retry import RetryPolicy

log = logging.getLogger(__name__)
_ERROR_TEXT_LIMIT = 500
# The AMQP header in which a caller sends when it stops waiting for an RPC reply (seconds since
# the epoch). Not a ``nameko.`` header: it is not context data, so it never travels further.
CALLER_DEADLINE = "x-caller-deadline"


class EventSubscriber(Consumer):
    queue_consumer = broker.RawQueueConsumer()

    def __init__(self, *event_types: str, **kwargs) -> None:
        if not event_types:
            raise ValueError("subscribe() needs at least one event type")
        self.event_types = event_types
        super().__init__(queue=None, **kwargs)

    def setup(self) -> None:
        self.queue_name = f"{self.container.service_name}.{self.method_name}"
        options = topology.QueueOptions.from_config(self.container.config)
        self.queue = topology.consumer_queue(self.queue_name, self.event_types, options)
        self.policy = RetryPolicy.from_config(self.container.config)
        self.amqp_uri = self.container.config["AMQP_URI"]
        with broker.connect(self.amqp_uri) as conn:
            topology.declare(conn, {self.queue_name: self.event_types}, self.policy.delays_ms, options)
        super().setup()

    def handle_raw_message(self, message) -> None:
        """Read the body as JSON and handle it; park it raw, unexecuted, if it cannot be read."""
        try:
            body = broker.read_json(message)
        except broker.Unreadable as exc:
            self._park_unreadable(message, str(exc))
            return
        self.handle_message(body, message)

    def handle_message(self, body, message) -> None:
        try:
            event = parse_event(body)
        except ContractError as exc:
            self._settle(message, body, exc, attempt=int(message.headers.get(broker.ATTEMPT, 1)), park=True)
            return
        handle_result = partial(self.handle_result, message, body)
        try:
            self.container.spawn_worker(
                self, (event,), {},
                context_data=self.unpack_message_headers(message),
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, body, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
        else:
            attempt = int(message.headers.get(broker.ATTEMPT, 1))
            park = attempt >= self.policy.max_attempts
            self._settle(message, body, exc_info[1], attempt=attempt, park=park)
        return result, exc_info

    def _park_unreadable(self, message, reason: str) -> None:
        """Park the message's bytes under its own content type with ``reason``, then ack it."""
        def park() -> None:
            broker.publish_raw(
                self.amqp_uri, broker.raw_body(message), content_type=message.content_type,
                content_encoding=message.content_encoding, routing_key=topology.DEAD_LETTERS.name,
                message_id=message.properties.get("message_id"),
                headers={
                    broker.CONSUMER: self.queue_name, broker.ERROR: reason[:_ERROR_TEXT_LIMIT],
                    broker.ATTEMPT: 0, broker.PARKED_AT: datetime.now(UTC).isoformat(),
                    broker.UNREADABLE: True,
                },
            )
            log.warning("%s parked a message it could not read: %s", self.queue_name, reason)
        self._hand_over(message, park)

    def _hand_over(self, message, send) -> None:
        """Run ``send`` (a publish), then ack; if the broker did not take it, requeue instead."""
        try:
            send()
        except Exception:
            # The broker did not take it: leave the original to be delivered again.
            log.exception("%s could not hand a message to the broker; requeueing", self.queue_name)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def _settle(self, message, body, exc: BaseException, *, attempt: int, park: bool) -> None:
        """Hand the message to a delay queue or the dead letters, then ack it."""
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT_LIMIT]

        def send() -> None:
            if park:
                broker.publish(
                    self.amqp_uri, body, exchange="", routing_key=topology.DEAD_LETTERS.name,
                    message_id=message.properties.get("message_id"),
                    headers={
                        broker.CONSUMER: self.queue_name, broker.ERROR: error,
                        broker.ATTEMPT: attempt, broker.PARKED_AT: datetime.now(UTC).isoformat(),
                    },
                )
                log.warning("%s parked an event after %d attempt(s): %s", self.queue_name, attempt, error)
            else:
                delay = self.policy.delay_before(attempt + 1)
                broker.publish(
                    self.amqp_uri, body, exchange=topology.delay_exchange(delay),
                    routing_key=self.queue_name, message_id=message.properties.get("message_id"),
                    headers={broker.ATTEMPT: attempt + 1, broker.ERROR: error},
                )
        self._hand_over(message, send)


subscribe = EventSubscriber.decorator


class _TransientPublisher(Publisher):
    delivery_mode = NON_PERSISTENT


class _TransientResponder(Responder):
    """Replies carry participant details too, so they never rest on the broker's disk."""

    publisher_cls = _TransientPublisher


class SurvivingRpcConsumer(RpcConsumer):
    """nameko's ``rpc-<service>`` consumer, whose replies are transient (delivery mode 1) and
    whose lost replies and acks do not stop the process."""

    queue_consumer = broker.SurvivingQueueConsumer()

    def handle_result(self, message, result, exc_info):
        try:
            config = self.container.config
            responder = _TransientResponder(
                config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
            result, exc_info = responder.send_response(result, exc_info)
            self.queue_consumer.ack_message(message)
            return result, exc_info
        except Exception as exc:  # noqa: BLE001 - the reply could not be published
            # The work is done; only its answer is lost. The caller's deadline answers the
            # caller (503), and acking keeps the request from running a second time.
            log.warning("%s could not send an RPC reply (%s: %s); the caller will time out",
                        self.container.service_name, type(exc).__name__, exc)
            self.queue_consumer.ack_message(message)
            return result, exc_info


class SurvivingRpc(Rpc):
    rpc_consumer = SurvivingRpcConsumer()

    def handle_message(self, body, message) -> None:
        """Run the request once a worker is free for it, unless its caller has given up by then."""
        self._wait_for_a_free_worker()
        if caller_gave_up(message.headers):
            log.info("%s.%s dropped a request whose caller's deadline had passed",
                     self.container.service_name, self.method_name)
            self.rpc_consumer.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)

    def _wait_for_a_free_worker(self) -> None:
        # nameko's spawn_worker blocks on the pool; waiting here instead lets the deadline be
        # checked when the request could really start. Nothing yields between this and the
        # spawn, so the slot freed here is the one the worker takes.
        with self.container._worker_pool.sem:  # noqa: SLF001 - nameko exposes no other wait
            pass


def caller_gave_up(headers: dict | None, now: float | None = None) -> bool:
    """Whether an RPC request's ``CALLER_DEADLINE`` header is in the past (no header: never)."""
    deadline = (headers or {}).get(CALLER_DEADLINE)
    if deadline is None:
        return False
    try:
        return float(deadline) < (time.time() if now is None else now)
    except (TypeError, ValueError):
        return False  # an unreadable deadline is no reason to refuse the work


rpc = SurvivingRpc.decorator


class ConfiguredTimer(Timer):
    """``@every("CONFIG_KEY", default_seconds)``: a nameko timer configured per deployment.

    The interval comes from the service config at setup. With ``TIMERS_ENABLED`` false
    the timer never starts: deployments run timers in one designated replica (see
    docs/scaling.md), while every replica still consumes events and answers RPC.

    ``@every(..., wakeable=True)``: a worker of the service may ask for the next tick now
    (``Wake``, a dependency: ``self.wake("method")``), so work it just committed need not wait
    for the interval. Wakes coalesce (any number during a tick give one tick after it), and a
    replica whose timers are off still ticks when one of its own workers wakes it, while only
    the designated replica also sweeps on the interval.
    """

    def __init__(self, config_key: str, default: float, *, wakeable: bool = False, **kwargs) -> None:
        super().__init__(interval=default, **kwargs)
        self.config_key = config_key
        self.default = default
        self.enabled = True
        self.wakeable = wakeable
        self._signal = GreenEvent()

    def setup(self) -> None:
        config = self.container.config
        self.interval = float(config.get(self.config_key, self.default))
        self.enabled = str(config.get("TIMERS_ENABLED", "true")).strip().lower() not in {"false", "0", "no"}

    def start(self) -> None:
        if self.enabled or self.wakeable:
            super().start()

    def wake(self) -> None:
        """Run the next tick as soon as the current one (if any) has finished."""
        if not self._signal.ready():
            self._signal.send(True)

    def _run(self) -> None:
        if not self.wakeable:
            super()._run()
            return
        delay = 0 if self.eager else self.interval
        while True:
            # Off (TIMERS_ENABLED false): no interval, wakes only.
            with GreenTimeout(delay if self.enabled else None, exception=False):
                self._signal.wait()
            if self.should_stop.ready():
                return
            # A fresh signal before the tick: a wake during it gives one more tick at once.
            self._signal = GreenEvent()
            self.handle_timer_tick()
            self.worker_complete.wait()
            self.worker_complete.reset()
            delay = self.interval

    # A timer that never started has no thread to stop.
    def stop(self) -> None:
        if self.gt is not None:
            self.should_stop.send(True)
            self.wake()
            self.gt.wait()

    def kill(self) -> None:
        if self.gt is not None:
            super().kill()


class Wake(DependencyProvider):
    """``self.wake("method")`` asks that service's ``@every(..., wakeable=True)`` timer for its
    next tick now, in this process. Call it after the commit whose work the tick should see."""

    def setup(self) -> None:
        self.timers = {e.method_name: e for e in self.container.entrypoints
                       if isinstance(e, ConfiguredTimer) and e.wakeable}

    def get_dependency(self, worker_ctx) -> Callable[[str], None]:
        timers = self.timers

        def wake(method_name: str) -> None:
            timer = timers.get(method_name)
            if timer is None:
                raise LookupError(f"{method_name} is not a wakeable timer of this service")
            timer.wake()

        return wake


every = ConfiguredTimer.decorator
