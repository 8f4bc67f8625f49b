"""The outbox relay: publishes committed outbox rows and marks them sent.

A unit of work that committed events hands their rows to the relay (``committed``), which
publishes them at once, in commit order, from memory, and marks them sent in one statement: no
read of the outbox on the way. The outbox is still the truth: a row is marked sent only after
the broker confirmed it, so a crash between commit and publish, a refused publish or a lost
mark leaves it unsent, and the **sweep** publishes it. The sweep reads unsent rows oldest first
and stops at the first failure, which keeps the order per aggregate.

The relay sweeps:

- when it starts, and after any publish fails (the broker was unreachable, a confirm came
  late): until a sweep has emptied the outbox it publishes only by sweeping, so nothing staged
  later overtakes what is still waiting;
- every ``poll_seconds`` otherwise, reading only rows older than ``sweep_after_seconds``: those
  are rows whose own process died or failed before publishing them; anything younger is still
  on its way from the process that committed it.

A row is published at least once: a crash after the broker confirmed and before the row was
marked sends it again, and consumers skip the duplicate (inbox). Rows are read by
``published_at IS NULL`` rather than from a high-water mark, so a row that committed after a
higher-numbered one is never skipped.

On SQLite (``direct=False``: one process per database) the relay sweeps on every commit
instead: publishing directly there let the matching service's proposals fall behind the
accepted referrals when the network was driven flat out, and one writer leaves no replicas to
order.

On PostgreSQL several replicas may run a relay; each sweep first tries a transaction-level
advisory lock, so one replica sweeps at a time. Each replica publishes its own commits in the
order they committed; two replicas committing events about one aggregate within the same
moment may publish them in either order, as competing consumers may handle them in either
order anyway: consumers decide from the state they hold, never from arrival order.

A publish waits for the broker's confirm at most ``confirm_seconds``: a connection that went
silent without closing (a half-open TCP connection, a broker that stopped answering) would
otherwise hold the relay, and with it the lock, for ever. A late confirm counts as a failure:
the connection is dropped and the rows go again later, which the consumers' inbox makes harmless.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta

import eventlet
from eventlet.event import Event as GreenEvent
from kombu import Connection
from sqlalchemy import MetaData, bindparam, func, select, update
from sqlalchemy.orm import sessionmaker

from services.kit import broker, topology
from services.kit.db import WriterGate, utcnow
from services.kit.unit_of_work import Staged, UnitOfWork

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
        sweep_after_seconds: float = 5.0,
        mark_after_seconds: float = 0.25,
        direct: bool = True,
    ) -> None:
        self._session_factory = session_factory
        self._outbox = metadata.tables["outbox"]
        self._gate = gate
        self._amqp_uri = amqp_uri
        self._source = source
        self._lock_key = zlib.crc32(f"outbox:{source}".encode()) & 0x7FFFFFFF
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._subscriptions = subscriptions
        self._delays_ms = list(delays_ms)
        self._queue_options = queue_options
        self._confirm_seconds = confirm_seconds
        self._sweep_after = timedelta(seconds=sweep_after_seconds)
        self._mark_after = mark_after_seconds
        self._publishes_directly = direct
        self._mark_due: float | None = None  # when the oldest unmarked row must be marked
        self._connection: Connection | None = None
        self._wakeup = GreenEvent()
        self._running = False
        self._fresh: list[Staged] = []  # committed, not yet published
        self._unmarked: list[str] = []  # published, not yet marked sent (event ids)
        self._direct = False  # True once a sweep emptied the outbox, until a publish fails
        self._next_sweep = 0.0
        # Built once (``_unsent`` per dialect and age): the relay runs them on every wake.
        self._reads: dict[tuple[str, bool], object] = {}
        c = self._outbox.c
        self._mark_sent = (update(self._outbox).where(c.event_id.in_(bindparam("ids", expanding=True)))
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

    def _publish(self, rows: Sequence[Staged]) -> list[str]:
        """Publish ``rows`` in order until one fails; return the event ids the broker confirmed.
        A failure drops the connection and ends direct publishing until a sweep succeeds."""
        sent: list[str] = []
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
                sent.append(row.event_id)
        except TimeoutError:
            log.warning("outbox relay: the broker did not answer within %.0f s, %d of %d rows sent;"
                        " reconnecting", self._confirm_seconds, len(sent), len(rows))
            self._failed()
        except Exception:
            log.warning("outbox relay: broker unavailable, %d of %d rows sent", len(sent), len(rows))
            self._failed()
        return sent

    def _failed(self) -> None:
        self._reset_connection()
        self._direct = False

    # -- direct: what this process committed ----------------------------------------------

    def committed(self, rows: Sequence[Staged]) -> None:
        """A unit of work committed ``rows``: publish them soon, in this order."""
        if self._publishes_directly:
            self._fresh.extend(rows)
        self.wake()

    def publish_committed(self) -> int:
        """Publish the rows handed over by ``committed``; return how many went (they are marked
        sent by ``_mark_if_due``). Only while direct publishing is on: otherwise the sweep reads
        them."""
        if not self._direct or not self._fresh:
            return 0
        rows, self._fresh = self._fresh, []
        sent = self._publish(rows)
        if sent and not self._unmarked:
            self._mark_due = time.monotonic() + self._mark_after
        self._unmarked.extend(sent)
        return len(sent)

    def _mark_if_due(self) -> None:
        """Mark what was published once the oldest of it has waited ``mark_after_seconds`` or a
        batch has gathered: one statement for the commits of that while, not one for each. A
        crash meanwhile sends those rows again (the sweep), which the consumers' inbox absorbs."""
        if self._unmarked and (len(self._unmarked) >= self._batch_size
                               or time.monotonic() >= (self._mark_due or 0.0)):
            self._mark()

    def _mark(self) -> None:
        """Mark the published rows sent, in one statement that commits by itself."""
        self._mark_due = None
        if not self._unmarked:
            return
        ids, self._unmarked = self._unmarked, []
        uow = UnitOfWork(self._session_factory, source=self._source, gate=self._gate)
        try:
            with uow.one_statement():
                uow.session.execute(self._mark_sent, {"ids": ids, "at": utcnow()})
                uow.commit()
        except Exception:  # noqa: BLE001 - published already; a sweep sends them again
            log.warning("outbox relay: %d published rows could not be marked sent; a sweep will "
                        "publish them again", len(ids))

    # -- the sweep: what is left in the outbox ----------------------------------------------

    def relay_once(self, *, aged: bool = False) -> int:
        """Publish up to one batch of unsent rows, oldest first; return how many were published.

        ``aged`` reads only rows older than ``sweep_after_seconds``: a row younger than that may
        still be on its way from the process that committed it. A full sweep (not ``aged``)
        reads every row committed so far, so the rows handed over until now are left to it.
        """
        with self._gate.held(), self._session_factory() as session:
            if not aged:
                self._fresh.clear()  # committed before this read, so the read returns them
            params = {"before": utcnow() - self._sweep_after} if aged else {}
            rows = session.execute(self._unsent(session.bind.dialect.name, aged), params).all()
            if not rows:
                return 0
            sent = self._publish(rows)
            if sent:
                session.execute(self._mark_sent, {"ids": sent, "at": utcnow()})
            session.commit()
            return len(sent)

    def _unsent(self, dialect: str, aged: bool):
        """The oldest batch of unsent rows. On PostgreSQL the same statement first tries the
        relay's advisory lock (a materialised CTE, run once) and reads nothing without it: one
        round trip where a lock and a read were two."""
        if (dialect, aged) not in self._reads:
            self._reads[dialect, aged] = self._unsent_query(dialect, aged)
        return self._reads[dialect, aged]

    def _unsent_query(self, dialect: str, aged: bool):
        c = self._outbox.c
        query = (select(c.id, c.type, c.event_id, c.message)
                 .where(c.published_at.is_(None))
                 .order_by(c.id)
                 .limit(self._batch_size))
        if aged:
            query = query.where(c.created_at < bindparam("before"))
        if dialect != "postgresql":
            return query
        lock = (select(func.pg_try_advisory_xact_lock(self._lock_key).label("got"))
                .cte("relay_lock").prefix_with("MATERIALIZED"))
        return query.join_from(self._outbox, lock, lock.c.got)

    def drain(self, *, aged: bool = False) -> int:
        """Sweep until a batch comes back short (or the broker stops confirming).

        A short batch means the outbox was empty behind it: asking again would cost
        one more transaction for nothing.
        """
        total = 0
        while True:
            count = self.relay_once(aged=aged)
            total += count
            if count < self._batch_size:
                return total

    def work(self) -> None:
        """One round of the loop: sweep everything until a sweep succeeds, then publish what
        was committed, and sweep old leftovers every ``poll_seconds``."""
        if not self._publishes_directly:
            self.drain()
            return
        if not self._direct:
            self._mark()  # what went out before the failure is not sent again by the sweep
            # Direct from the end of a sweep that empties the outbox: nothing older waits then.
            # A publish that fails during the sweep turns it off again (``_failed``).
            self._direct = True
            try:
                self.drain()
            except BaseException:
                self._direct = False
                raise
            if not self._direct:
                return
            self._next_sweep = time.monotonic() + self._poll_seconds
        self.publish_committed()
        self._mark_if_due()
        if self._direct and time.monotonic() >= self._next_sweep:
            self.drain(aged=True)
            self._next_sweep = time.monotonic() + self._poll_seconds

    # -- the background loop -----------------------------------------------------------

    def wake(self) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def run(self, sleep: Callable[[float], None] = eventlet.sleep) -> None:
        """Loop until ``stop``: publish on every commit that staged events, sweep as a fallback."""
        self._running = True
        while self._running:
            # A fresh event before working: a commit meanwhile wakes the next wait.
            self._wakeup = GreenEvent()
            try:
                self.work()
            except Exception:
                log.exception("outbox relay failed; retrying")
                self._direct = False
                sleep(self._poll_seconds)
            wait = self._poll_seconds
            if self._direct:
                wait = min(wait, self._next_sweep - time.monotonic())
            if self._mark_due is not None:
                wait = min(wait, self._mark_due - time.monotonic())
            wait = max(0.0, wait)
            with eventlet.Timeout(wait, False):
                self._wakeup.wait()

    def stop(self) -> None:
        self._running = False
        self._mark()  # what went out is not sent again by the next start's sweep
        self.wake()
        self._reset_connection(graceful=True)
