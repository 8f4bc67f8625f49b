"""Schema migrations: each service's Alembic scripts, run from code.

Layout: ``services/<name>/migrations/`` (``gateway/migrations/`` for the gateway) holds ``env.py``,
``script.py.mako`` and ``versions/``. There is no ``alembic.ini``: the script location follows from
the service's name, and the connection reaches ``env.py`` through ``Config.attributes``; ``env.py``
only names the service's metadata (its tables plus the kit's outbox and inbox) and calls
``run_migrations``. Every service has a database of its own, so Alembic's default version table
``alembic_version`` is that service's. ``render_as_batch`` makes future ALTERs work on SQLite.

Adopting a database made before migrations (tables, no revision): ``upgrade`` compares it with the
service's models (Alembic's autogenerate comparison, the same one ``check`` uses). Only an exact
match is stamped, at the head revision: such tables came from ``create_all`` on the models (as
``agency create`` and the ledger check still do on an empty database), and the head is the
revision those models describe; revision 0001 is exactly the schema ``create_all`` built when
migrations began. Anything else (a half-built schema, or a pre-migration database met by a
release whose head has moved on) is refused with the differences and left untouched. An empty
database is built by the revisions from the first one.

Starting a service: ``require_head`` refuses a database never migrated, behind the head, or at
a revision this release does not know (migrated by a newer one), naming the command to run. It
lives in ``services.kit.revisions``, which reads the revisions without Alembic, so that a running
service never loads Alembic at all.

A new revision, once the models changed: ``revision(service, url, message)`` against a database
at head writes ``versions/<NNNN>_<message>.py`` from the differences (batch operations, so they
run on SQLite too); read and trim it before committing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, text

from services.kit import revisions
from services.kit.db import UTCDateTime, make_engine
from services.kit.revisions import (  # noqa: F401 - part of this module's interface
    ROOT,
    SERVICES,
    VERSION_TABLE,
    MigrationError,
    SchemaNotCurrent,
    head,
    require_head,
    script_location,
)

# Two `migrate` runs at once (replicas' init containers) queue on this PostgreSQL lock.
_LOCK_KEY = 7_342_001


@dataclass(frozen=True)
class Migrated:
    service: str
    before: str | None
    after: str
    adopted: bool  # a pre-migration database, verified and stamped


def current(url: str) -> str | None:
    """The database's revision, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return revisions.database_revision(connection)
    finally:
        engine.dispose()


def upgrade(service: str, url: str) -> Migrated:
    """Bring the service's database to head, adopting a pre-migration one (see the module doc).

    Raises ``MigrationError`` when an unversioned database's tables differ from the models.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _serialise(connection)
            before = revisions.database_revision(connection)
            adopted = before is None and _holds_tables(connection)
            if adopted:
                differences = _differences(service, connection)
                if differences:
                    raise MigrationError(
                        f"{service}: the database has tables but no revision, and they differ from the "
                        f"models, so it is not adopted: {_describe(differences)}")
                command.stamp(_config(service, connection), "head")
            command.upgrade(_config(service, connection), "head")
            return Migrated(service, before, revisions.database_revision(connection), adopted)
    finally:
        engine.dispose()


def check(service: str, url: str) -> list[str]:
    """The differences between the service's models and its migrated database (like ``alembic check``).

    Empty means no drift. Raises ``SchemaNotCurrent`` unless the database is at head.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            require_head(service, connection)
            return [str(difference) for difference in _differences(service, connection)]
    finally:
        engine.dispose()


def revision(service: str, url: str, message: str) -> Path:
    """Write the next revision from the models' differences with a database at head; returns its path."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            require_head(service, connection)
            config = _config(service, connection)
            number = len(revisions.revisions(service)) + 1
            script = command.revision(config, message=message, autogenerate=True, rev_id=f"{number:04d}")
    finally:
        engine.dispose()
    return Path(script.path)


def run_migrations(context, metadata: MetaData) -> None:
    """What every ``env.py`` does: migrate the connection it was given towards ``metadata``."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise MigrationError("migrations run through services.kit.migrations, with a connection")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True, version_table=VERSION_TABLE, render_item=_render_kit_type)
    with context.begin_transaction():
        context.run_migrations()


def _config(service: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(revisions.script_location(service)))
    config.attributes["connection"] = connection
    return config


def _render_kit_type(type_: str, item, autogen_context) -> str | bool:
    """Write the kit's ``UTCDateTime`` into new revisions by name, with its import."""
    if type_ == "type" and isinstance(item, UTCDateTime):
        autogen_context.imports.add("from services.kit.db import UTCDateTime")
        return "UTCDateTime()"
    return False


def _holds_tables(connection: Connection) -> bool:
    return any(name != VERSION_TABLE for name in inspect(connection).get_table_names())


def _differences(service: str, connection: Connection) -> list:
    """Alembic's comparison of the database with the metadata the service's ``env.py`` names."""
    config = _config(service, connection)
    script = ScriptDirectory.from_config(config)
    found: list = []

    def compare(_revision, context: MigrationContext):
        found.extend(compare_metadata(context, context.opts["target_metadata"]))
        return []

    with EnvironmentContext(config, script, fn=compare):
        script.run_env()
    return found


def _describe(differences: list, shown: int = 5) -> str:
    text_ = "; ".join(str(difference) for difference in differences[:shown])
    more = len(differences) - shown
    return f"{text_} (and {more} more)" if more > 0 else text_


def _serialise(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
