"""Whether a service may start on its database: the revision the database is at against the
newest one this release has, read without Alembic.

A running service only compares two revision names. Alembic (and Mako, which it brings) would
cost every process about 13 MB for that, so the revisions are read from each version file's own
``revision = ...`` and ``down_revision = ...`` lines (parsed, never run), and the database's from
its version table. ``services.kit.migrations`` does everything else with Alembic, and a test
checks that both read the same head and the same revisions for every service.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

SERVICES = ("consent", "referrals", "matching", "notifications", "engagement", "outcomes", "gateway")
ROOT = Path(__file__).resolve().parents[2]
VERSION_TABLE = "alembic_version"


class MigrationError(RuntimeError):
    """A database cannot be migrated, or is not at the revision the code needs."""


class SchemaNotCurrent(MigrationError):
    """The database is not at the service's head revision: the service must not start on it."""


def script_location(service: str) -> Path:
    """The service's migrations directory; ``MigrationError`` for a name that has none."""
    if service not in SERVICES:
        raise MigrationError(f"{service!r} has no migrations; known: {', '.join(SERVICES)}")
    package = ROOT / "gateway" if service == "gateway" else ROOT / "services" / service
    return package / "migrations"


def revisions(service: str) -> dict[str, tuple[str, ...]]:
    """Each revision of the service's migrations with the revisions it follows."""
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted((script_location(service) / "versions").glob("*.py")):
        names: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
            target = (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1
                      else node.target if isinstance(node, ast.AnnAssign) else None)
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                names[target.id] = ast.literal_eval(node.value)
        if "revision" not in names:
            continue
        down = names.get("down_revision")
        found[str(names["revision"])] = tuple(down) if isinstance(down, list | tuple) else (
            () if down is None else (str(down),))
    return found


def head(service: str) -> str:
    """The newest revision: the one no other revision follows."""
    known = revisions(service)
    followed = {down for downs in known.values() for down in downs}
    heads = sorted(set(known) - followed)
    if len(heads) != 1:
        where = script_location(service)
        raise MigrationError(f"{service}: no revisions in {where}" if not heads
                             else f"{service}: several heads in {where}: {', '.join(heads)}")
    return heads[0]


def database_revision(connection: Connection) -> str | None:
    """The database's revision, or None when it was never migrated."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    found = [row[0] for row in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    if len(found) > 1:
        raise MigrationError(f"the database is at several revisions at once: {', '.join(sorted(found))}")
    return found[0] if found else None


def require_head(service: str, bind: Engine | Connection) -> None:
    """Raise ``SchemaNotCurrent`` unless the database is at the service's head revision.

    The message names the service, both revisions and the command to run; never the URL.
    """
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return require_head(service, connection)
    wanted = head(service)
    found = database_revision(bind)
    if found == wanted:
        return None
    if found is None:
        state = "was never migrated"
    elif found in revisions(service):
        state = f"is at revision {found}"
    else:
        state = f"is at revision {found}, which this release does not know (a newer one migrated it)"
    raise SchemaNotCurrent(
        f"{service}: the database {state}; this release needs revision {wanted}. "
        f"Run `referral-network migrate {service}` first.")
