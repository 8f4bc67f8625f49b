"""Database plumbing shared by the services: engines, the kit's own tables, sessions.

Each service owns one database (a SQLite file by default, PostgreSQL in
production) and one ``MetaData`` that holds its tables plus the kit's
``outbox`` and ``processed_events`` tables, so both are written in one transaction.
"""

from __future__ import annotations

import hashlib
import os

# psycopg 3 blocks eventlet's hub unless told to wait with select(); must precede its import.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterable, Mapping  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from sqlalchemy import (  # noqa: E402
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402
from sqlalchemy.exc import DisconnectionError  # noqa: E402
from sqlalchemy.pool import QueuePool, StaticPool  # noqa: E402
from sqlalchemy.types import TypeDecorator  # noqa: E402

from services.kit import green_wait  # noqa: E402

green_wait.install()

# SQLite's wait for a lock when no ``DatabaseTimeouts`` are given (command-line tools, migrations).
_CLI_BUSY_TIMEOUT_MS = 10000


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def service_metadata() -> MetaData:
    """A fresh ``MetaData`` that already holds the outbox and inbox tables."""
    metadata = MetaData()
    Table(
        "outbox", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(64), nullable=False),
        Column("aggregate_id", String(64), nullable=True, index=True),
        Column("message", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        Column("published_at", UTCDateTime, nullable=True, index=True),
    )
    Table(
        "processed_events", metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", UTCDateTime, nullable=False, default=utcnow),
    )
    return metadata


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def dialect_insert(session, table: Table):
    """The session's dialect's INSERT, which knows ``ON CONFLICT`` on SQLite and PostgreSQL."""
    return insert_for(session.get_bind().dialect.name)(table)


def insert_for(dialect: str):
    """``insert`` of the dialect named (``"postgresql"`` or SQLite's), for statements built
    once per dialect rather than per session."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


_TRANSACTION_LOCK = text("SELECT pg_advisory_xact_lock(:key)")  # built once: per event, in places


def hold_transaction_lock(session, name: str) -> None:
    """Wait for, then hold until commit, PostgreSQL's transaction lock named ``name``.

    For work that reads what another transaction of the same name may be writing (two events of
    one referral, say): the second waits, then reads the first one's committed rows. SQLite needs
    none, since its single writer already takes the handlers one at a time.
    """
    hold_transaction_locks(session, (name,))


# One statement for several: ``unnest`` gives the keys in the array's order, and each row's lock
# is taken as the row is produced, so the locks are taken in that order.
_TRANSACTION_LOCKS = text("SELECT pg_advisory_xact_lock(key) FROM unnest(CAST(:keys AS bigint[])) AS key")


def hold_transaction_locks(session, names: Iterable[str]) -> None:
    """``hold_transaction_lock`` for every name, in one round trip.

    The locks are taken in the order of their keys, whatever the order of ``names``: two
    transactions that want some of the same locks wait for each other, never deadlock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({transaction_lock_key(name) for name in names})
    if len(keys) == 1:
        session.execute(_TRANSACTION_LOCK, {"key": keys[0]})
    elif keys:
        session.execute(_TRANSACTION_LOCKS, {"keys": keys}).all()


def transaction_lock_key(name: str) -> int:
    """The key of the transaction lock named ``name``, for a statement that takes it itself
    (``pg_advisory_xact_lock(key)``) along with its own work, a round trip fewer."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def owner_only_database_file(path: str) -> None:
    """Create the SQLite file at ``path`` (and its folder) readable by its owner only, or make an
    existing one so. SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so they
    follow. The data inside is sealed where it is personal; the file is still nobody else's to read.
    """
    path = path.split("?", 1)[0]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except PermissionError:
        return  # someone else's file: SQLite says what it cannot do with it
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long a service's database may keep one of its workers waiting.

    On PostgreSQL the server ends a statement after ``statement_ms`` and a wait for a row or
    table lock after ``lock_ms``, and a new connection gives up after ``connect_seconds``. A
    server that stops answering altogether (its backend stalled) is bounded by ``wait_seconds``,
    a client-side limit on a whole unit of work (``services.kit.unit_of_work``). On SQLite,
    ``busy_ms`` bounds the wait for another writer's lock; keep it short, because that wait
    blocks the whole process.
    """

    connect_seconds: float = 5.0
    statement_ms: int = 15000
    lock_ms: int = 5000
    busy_ms: int = 5000
    wait_seconds: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> DatabaseTimeouts:
        """From ``DATABASE_CONNECT_TIMEOUT_SECONDS``, ``DATABASE_STATEMENT_TIMEOUT_MS``,
        ``DATABASE_LOCK_TIMEOUT_MS``, ``DATABASE_BUSY_TIMEOUT_MS`` and ``DATABASE_WAIT_SECONDS``.

        Raises ``ValueError`` when one is not a positive number.
        """
        default = cls()
        values = {
            "connect_seconds": float(config.get("DATABASE_CONNECT_TIMEOUT_SECONDS", default.connect_seconds)),
            "statement_ms": int(config.get("DATABASE_STATEMENT_TIMEOUT_MS", default.statement_ms)),
            "lock_ms": int(config.get("DATABASE_LOCK_TIMEOUT_MS", default.lock_ms)),
            "busy_ms": int(config.get("DATABASE_BUSY_TIMEOUT_MS", default.busy_ms)),
            "wait_seconds": float(config.get("DATABASE_WAIT_SECONDS", default.wait_seconds)),
        }
        wrong = [name for name, value in values.items() if value <= 0]
        if wrong:
            raise ValueError(f"database timeouts must be positive: {', '.join(wrong)}")
        return cls(**values)


def make_engine(url: str, *, pool_size: int = 5, timeouts: DatabaseTimeouts | None = None) -> Engine:
    """An engine tuned for the service: WAL and foreign keys on SQLite, pooled connections on
    both, and on PostgreSQL a ping of a connection that sat idle in the pool (``_ping_when_idle``).

    A SQLite file is created (or made) readable and writable by its owner only. Its connections
    are pooled too: opening one and setting its pragmas cost more than most units of work.

    ``hide_parameters``: a database error must not carry row values (personal details)
    into logs or into the error text of a dead letter. The PostgreSQL pool holds up to
    ``2 × pool_size`` connections: five processes must fit a server's default 100.
    With ``timeouts`` (services), every session carries them; without (migrations and
    command-line tools, whose statements may rightly run long), only SQLite's lock wait is set.
    """
    if is_sqlite(url):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            owner_only_database_file(url[len("sqlite:///"):])
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True,
                               **_sqlite_pool(url, pool_size))
        busy_ms = timeouts.busy_ms if timeouts is not None else _CLI_BUSY_TIMEOUT_MS

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.close()

        return engine
    connect_args = {}
    if timeouts is not None:
        connect_args = {
            "connect_timeout": max(int(round(timeouts.connect_seconds)), 1),
            "options": f"-c statement_timeout={timeouts.statement_ms} -c lock_timeout={timeouts.lock_ms}",
        }
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True,
                           connect_args=connect_args,
                           pool_timeout=timeouts.wait_seconds if timeouts is not None else 30)
    _ping_when_idle(engine)
    return engine


# A pooled connection used this recently is taken as alive; one idle longer is pinged first.
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_when_idle(engine: Engine, after: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping a connection at checkout only when it sat in the pool for ``after`` seconds or more.

    ``pool_pre_ping`` pings at every checkout: one round trip more for every unit of work. A
    connection checked in a moment ago is almost always alive; after a database restart under
    load, the first statement on such a connection fails as a disconnect, SQLAlchemy invalidates
    every connection the pool held, and the unit of work answers ``DatabaseUnavailable`` (a 503
    to the caller, a retry for an event). An idle connection, which is what a restart at a quiet
    time leaves, is still replaced before anyone uses it.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < after:
            return  # fresh from connect, or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("pooled connection failed its ping") from exc
        if not alive:
            raise DisconnectionError("pooled connection failed its ping")


def _sqlite_pool(url: str, pool_size: int) -> dict:
    """The pool arguments of a SQLite engine: an in-memory database lives and dies with its one
    connection; a file's connections are kept like PostgreSQL's."""
    if ":memory:" in url:
        return {"poolclass": StaticPool}
    return {"poolclass": QueuePool, "pool_size": pool_size, "max_overflow": pool_size}


class WriterGate:
    """Serialises units of work inside one process when the database is SQLite.

    SQLite allows one writer; its busy wait blocks the whole eventlet hub, so
    greenthreads queue here instead. On PostgreSQL the gate is open.
    """

    def __init__(self, serialise: bool) -> None:
        self._lock = threading.RLock() if serialise else None

    @contextmanager
    def held(self):
        if self._lock is None:
            yield
            return
        with self._lock:
            yield
