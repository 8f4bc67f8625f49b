"""Database plumbing shared by the services: engines, the kit's own tables, sessions.

Each service owns one database (a SQLite file by default, PostgreSQL in
production) and one ``MetaData`` that holds its tables plus the kit's
``outbox`` and ``processed_events`` tables, so both are written in one transaction.
"""

from __future__ import annotations

import os

# psycopg 3 blocks eventlet's hub unless told to wait with select(); must precede its import.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402
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
)
from sqlalchemy.pool import NullPool  # noqa: E402
from sqlalchemy.types import TypeDecorator  # noqa: E402


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


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine tuned for the service: WAL and foreign keys on SQLite, pre-ping on PostgreSQL.

    A SQLite file is created (or made) readable and writable by its owner only.

    ``hide_parameters``: a database error must not carry row values (personal details)
    into logs or into the error text of a dead letter. The PostgreSQL pool holds up to
    ``2 × pool_size`` connections: five processes must fit a server's default 100.
    """
    if is_sqlite(url):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            owner_only_database_file(url[len("sqlite:///"):])
        engine = create_engine(url, poolclass=NullPool, connect_args={"check_same_thread": False},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         hide_parameters=True)


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
