"""The outbox relay: publishes committed outbox rows, oldest first, and marks them sent.

A row is published at least once: a crash after the broker confirmed and before
the row was marked sends it again, and consumers skip the duplicate (inbox).
Rows are read by ``published_at IS NULL`` rather than from a high-water mark, so
a row that committed after a higher-numbered one is never skipped. Rows go out in
id order and a failure stops the batch, which keeps the order per aggregate.

On PostgreSQL several replicas may run a relay; a transaction-level advisory
lock lets one of them work at a time so the order holds across processes.

A publish waits for the broker's confirm at most ``confirm_seconds``: a connection that went
silent without closing (a half-open TCP connection, a broker that stopped answering) would
otherwise hold the relay, and with it the lock, for ever. A late confirm counts as a failure:
the connection is dropped and the rows go again later, which the consumers' inbox makes harmless.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Mapping

import eventlet
from eventlet.event import Event as GreenEvent
from kombu import Connection
from sqlalchemy import MetaData, bindparam, func, select, update
from sqlalchemy.orm import sessionmaker

from services.kit import broker, topology
from services.kit.db import WriterGate, utcnow

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        session_factory: sessionmaker,
        metadata: MetaData,
        gate: WriterGate,
        amqp_uri: str,
        *,
        source: str,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        subscriptions: Mapping[str, Iterable[str]] | None = None,  # None: every registered consumer
        delays_ms: Iterable[int] = (),
        queue_options: topology.QueueOptions = topology.CLASSIC,
        confirm_seconds: float = broker.CONFIRM_SECONDS,
    ) -> None:
        self._session_factory = session_factory
        self._outbox = metadata.tables["outbox"]
        self._gate = gate
        self._amqp_uri = amqp_uri
        self._lock_key = zlib.crc32(f"outbox:{source}".encode()) & 0x7FFFFFFF
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._subscriptions = subscriptions
        self._delays_ms = list(delays_ms)
        self._queue_options = queue_options
        self._confirm_seconds = confirm_seconds
        self._connection: Connection | None = None
        self._wakeup = GreenEvent()
        self._running = False
        # Built once (``_unsent`` per dialect): the relay runs them on every wake.
        self._reads: dict[str, object] = {}
        c = self._outbox.c
        self._mark_sent = (update(self._outbox).where(c.id.in_(bindparam("ids", expanding=True)))
                           .values(published_at=bindparam("at")))

    # -- publishing ---------------------------------------------------------------------

    def _producer_connection(self) -> Connection:
        if self._connection is None:
            conn = broker.connect(self._amqp_uri)
            try:
                conn.ensure_connection(max_retries=3)
                # The declarations wait for the broker's answers: bounded like a confirm.
                with eventlet.Timeout(self._confirm_seconds, TimeoutError("no answer to the declarations")):
                    topology.declare(conn, self._subscriptions, self._delays_ms, self._queue_options)
            except BaseException:
                conn.collect()
                raise
            self._connection = conn
        return self._connection

    def _reset_connection(self, *, graceful: bool = False) -> None:
        """Forget the connection. A failed one is dropped without the close handshake, which a
        broker that stopped answering would never complete."""
        if self._connection is not None:
            try:
                if graceful:
                    self._connection.release()
                else:
                    self._connection.collect()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass
        self._connection = None

    def relay_once(self) -> int:
        """Publish up to one batch of unsent rows; return how many were published."""
        with self._gate.held(), self._session_factory() as session:
            rows = session.execute(self._unsent(session.bind.dialect.name)).all()
            if not rows:
                return 0
            sent: list[int] = []
            try:
                producer = self._producer_connection().Producer()
                for row in rows:
                    producer.publish(
                        row.message,
                        exchange=topology.EVENTS,
                        routing_key=row.type,
                        delivery_mode=2,
                        content_type="application/json",
                        content_encoding="utf-8",
                        message_id=row.event_id,
                        type=row.type,
                        confirm_timeout=self._confirm_seconds,
                    )
                    sent.append(row.id)
            except TimeoutError:
                log.warning("outbox relay: the broker did not answer within %.0f s, %d of %d rows sent;"
                            " reconnecting", self._confirm_seconds, len(sent), len(rows))
                self._reset_connection()
            except Exception:
                log.warning("outbox relay: broker unavailable, %d of %d rows sent", len(sent), len(rows))
                self._reset_connection()
            if sent:
                session.execute(self._mark_sent, {"ids": sent, "at": utcnow()})
            session.commit()
            return len(sent)

    def _unsent(self, dialect: str):
        """The oldest batch of unsent rows. On PostgreSQL the same statement first tries the
        relay's advisory lock (a materialised CTE, run once) and reads nothing without it: one
        round trip where a lock and a read were two."""
        if dialect not in self._reads:
            self._reads[dialect] = self._unsent_query(dialect)
        return self._reads[dialect]

    def _unsent_query(self, dialect: str):
        c = self._outbox.c
        query = (select(c.id, c.type, c.event_id, c.message)
                 .where(c.published_at.is_(None))
                 .order_by(c.id)
                 .limit(self._batch_size))
        if dialect != "postgresql":
            return query
        lock = (select(func.pg_try_advisory_xact_lock(self._lock_key).label("got"))
                .cte("relay_lock").prefix_with("MATERIALIZED"))
        return query.join_from(self._outbox, lock, lock.c.got)

    def drain(self) -> int:
        """Publish until a batch comes back short (or the broker stops confirming).

        A short batch means the outbox was empty behind it: asking again would cost
        one more transaction per wake for nothing. A commit during the drain wakes
        the relay again, and the poll catches anything else.
        """
        total = 0
        while True:
            count = self.relay_once()
            total += count
            if count < self._batch_size:
                return total

    # -- the background loop -----------------------------------------------------------

    def wake(self, _count: int = 0) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def run(self, sleep: Callable[[float], None] = eventlet.sleep) -> None:
        """Loop until ``stop``: relay on every commit that staged events, and poll as a fallback."""
        self._running = True
        while self._running:
            # A fresh event before draining: a commit during the drain wakes the next wait.
            self._wakeup = GreenEvent()
            try:
                self.drain()
            except Exception:
                log.exception("outbox relay failed; retrying")
                sleep(self._poll_seconds)
            with eventlet.Timeout(self._poll_seconds, False):
                self._wakeup.wait()

    def stop(self) -> None:
        self._running = False
        self.wake()
        self._reset_connection(graceful=True)
