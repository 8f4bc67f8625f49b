"""nameko dependency providers: the database with its outbox relay, and the clock.

These are the only kit modules besides ``entrypoints`` that know about nameko;
domain code and handlers receive a plain ``UnitOfWork`` and ``datetime`` values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import Session, sessionmaker

from services.kit import broker
from services.kit.crypto import KeyRing
from services.kit.db import DatabaseTimeouts, WriterGate, is_sqlite, make_engine
from services.kit.db_counts import count_engine
from services.kit.encrypted import ring_from_config
from services.kit.group_commit import GroupCommit
from services.kit.outbox import OutboxRelay
from services.kit.retry import RetryPolicy
from services.kit.revisions import require_head
from services.kit.topology import QueueOptions
from services.kit.unit_of_work import UnitOfWork

# What a service's ``repositories`` function receives: the session, and the key ring when the
# service seals columns (``Database(..., sealed=True)``), else None.
RepositoryFactory = Callable[[Session, KeyRing | None], Mapping[str, Any]]


class WorkerUnitOfWork(UnitOfWork):
    """A unit of work that knows which consumer (``service.method``) it serves."""

    def __init__(self, *args: Any, consumer: str, group_of: Callable[..., GroupCommit] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.consumer = consumer
        self._group_of = group_of

    def handle(self, event, handler: Callable[..., Any], *args: Any) -> bool:
        """``handle_once`` under this worker's consumer name."""
        return self.handle_once(self.consumer, event, handler, *args)

    def handle_grouped(self, event, many: Callable[..., Sequence[bool]], one: Callable[..., bool]) -> bool:
        """``handle_keyed(event, one)``, but in one transaction with the events this process's
        other workers of the same consumer hold at the same moment, through ``many(events, uow)``
        (``services/kit/group_commit.py``). Returns when that transaction has committed."""
        return self._group_of(self.consumer, many, one).handle(event)


class Database(DependencyProvider):
    """Gives each worker a ``WorkerUnitOfWork``; runs the service's outbox relay.

    The database must be migrated first (``referral-network migrate <service>``); ``setup`` checks it.
    Config: ``DATABASE_URL`` (SQLite file or PostgreSQL), ``DATABASE_POOL_SIZE`` (default 5),
    ``OUTBOX_POLL_SECONDS`` and ``OUTBOX_SWEEP_AFTER_SECONDS`` (the relay's sweep), the
    ``DATABASE_*_TIMEOUT*`` and ``DATABASE_WAIT_SECONDS`` bounds
    (``services.kit.db.DatabaseTimeouts``), ``EVENT_BATCH_SECONDS`` (how long a consumer that
    handles events in groups waits for more, default 0.1; ``handle_grouped``); with ``sealed``,
    ``FIELD_ENCRYPTION_KEYS`` for the repositories.
    ``repositories(session, ring)`` names the repositories every unit of work carries.
    """

    def __init__(self, metadata: MetaData, url_key: str = "DATABASE_URL", *,
                 repositories: RepositoryFactory | None = None, sealed: bool = False) -> None:
        self.metadata = metadata
        self.url_key = url_key
        self.make_repositories = repositories
        self.sealed = sealed
        self.ring: KeyRing | None = None
        self.engine = None
        self.relay: OutboxRelay | None = None
        self._relay_thread = None
        self._groups: dict[tuple[str, Callable], GroupCommit] = {}

    def setup(self) -> None:
        config = self.container.config
        url = config[self.url_key]
        self.timeouts = DatabaseTimeouts.from_config(config)
        self.engine = make_engine(url, pool_size=int(config.get("DATABASE_POOL_SIZE", 5)),
                                  timeouts=self.timeouts)
        count_engine(self.engine, self.container.service_name)  # only when DB_COUNTS_DIR is set
        try:
            self.verify_schema(self.engine)
        except Exception:
            self.engine.dispose()
            raise
        self.session_factory = sessionmaker(
            self.engine, expire_on_commit=False, info={"metadata": self.metadata}
        )
        self.gate = WriterGate(serialise=is_sqlite(url))
        if self.sealed:
            self.ring = ring_from_config(config)
        self.relay = OutboxRelay(
            self.session_factory,
            self.metadata,
            self.gate,
            config["AMQP_URI"],
            source=self.container.service_name,
            poll_seconds=float(config.get("OUTBOX_POLL_SECONDS", 1.0)),
            confirm_seconds=float(config.get("PUBLISH_CONFIRM_SECONDS", broker.CONFIRM_SECONDS)),
            sweep_after_seconds=float(config.get("OUTBOX_SWEEP_AFTER_SECONDS", 5.0)),
            direct=not is_sqlite(url),
            delays_ms=RetryPolicy.from_config(config).delays_ms,
            queue_options=QueueOptions.from_config(config),
        )

    def verify_schema(self, engine: Engine) -> None:
        """Refuse to start unless the database is at this service's head schema revision.

        Raises ``SchemaNotCurrent`` naming the service, the database's revision, the head and
        ``referral-network migrate <service>``; a database never migrated is refused the same way.
        """
        require_head(self.container.service_name, engine)

    def start(self) -> None:
        self._relay_thread = self.container.spawn_managed_thread(self.relay.run, identifier="outbox relay")

    def stop(self) -> None:
        self._shutdown()

    def kill(self) -> None:
        # A killed container never calls stop(): release connections here too.
        self._shutdown()

    def _shutdown(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        if self._relay_thread is not None:
            self._relay_thread.kill()
            self._relay_thread = None
        if self.engine is not None:
            self.engine.dispose()

    def new_unit_of_work(self, consumer: str = "") -> WorkerUnitOfWork:
        return WorkerUnitOfWork(
            self.session_factory,
            source=self.container.service_name,
            gate=self.gate,
            on_commit=self.relay.committed,
            consumer=consumer,
            group_of=self._group_of,
            repositories=self._repositories_of,
            wait_seconds=self.timeouts.wait_seconds,
        )

    def _group_of(self, consumer: str, many: Callable[..., Sequence[bool]],
                  one: Callable[..., bool]) -> GroupCommit:
        """The process's one ``GroupCommit`` for ``consumer`` handling events through ``many``."""
        group = self._groups.get((consumer, many))
        if group is None:
            group = self._groups[(consumer, many)] = GroupCommit(
                lambda events: self.new_unit_of_work(consumer).handle_keyed_many(events, many),
                lambda event: self.new_unit_of_work(consumer).handle_keyed(event, one),
                window_seconds=float(self.container.config.get("EVENT_BATCH_SECONDS", 0.1)),
                max_batch=self.container.max_workers)
        return group

    def _repositories_of(self, session: Session) -> Mapping[str, Any]:
        if self.make_repositories is None:
            return {}
        return self.make_repositories(session, self.ring)

    def get_dependency(self, worker_ctx) -> WorkerUnitOfWork:
        consumer = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        return self.new_unit_of_work(consumer)


class Clock(DependencyProvider):
    """The current UTC time as a callable.

    With config ``CLOCK_FILE`` set, the time is read from that file (an ISO-8601
    instant), so tests can move time forward across real processes.
    """

    def get_dependency(self, worker_ctx) -> Callable[[], datetime]:
        path = self.container.config.get("CLOCK_FILE")
        if not path:
            return _now
        return lambda: _read_clock_file(Path(path))


def _now() -> datetime:
    return datetime.now(UTC)


def _read_clock_file(path: Path) -> datetime:
    text = ""
    for _ in range(100):
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            return _now()
        if text:
            break
        # Empty: a test is rewriting the file (truncated, not written yet). Read it again.
        eventlet.sleep(0.01)
    instant = datetime.fromisoformat(text)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
