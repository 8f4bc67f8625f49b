"""Encrypted columns in a service's tables, and their key rotation.

A service lists its encrypted columns (``{"participants": ("given_name", ...)}``);
values are stored as ``KeyRing`` tokens bound to ``<table>/<column>/<row id>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import MetaData, Table, select, update
from sqlalchemy.orm import Session

from services.kit.config import ConfigError
from services.kit.crypto import FieldRef, KeyRing, rotate


def ring_from_config(config: Mapping[str, object]) -> KeyRing:
    """The key ring of ``FIELD_ENCRYPTION_KEYS``. Raises ``ConfigError`` when it is not set."""
    spec = config.get("FIELD_ENCRYPTION_KEYS")
    if not spec or spec == "None":
        raise ConfigError("FIELD_ENCRYPTION_KEYS is not set (kid:<base64 32 bytes>,...)")
    return KeyRing.from_config(str(spec))


def seal(ring: KeyRing, table: str, row_id: str, values: Mapping[str, str | None]) -> dict[str, str | None]:
    """Encrypt each value for its column of ``table`` at ``row_id`` (None stays None)."""
    return {
        column: None if value is None else ring.encrypt(str(value), FieldRef(table, column, row_id))
        for column, value in values.items()
    }


def unseal(ring: KeyRing, table: str, row_id: str, tokens: Mapping[str, str | None]) -> dict[str, str | None]:
    """Decrypt tokens read from ``table`` at ``row_id``. Raises ``DecryptionError`` on any tampering."""
    return {
        column: None if token is None else ring.decrypt(token, FieldRef(table, column, row_id))
        for column, token in tokens.items()
    }


def row_id_of(table: Table, row: Mapping[str, object]) -> str:
    """How a sealed row is named in its associated data: its primary key, joined by ":"."""
    return ":".join(str(row[column.name]) for column in table.primary_key.columns)


def reencrypt_columns(
    session: Session,
    metadata: MetaData,
    ring: KeyRing,
    columns: Mapping[str, Sequence[str]],
    *,
    batch_size: int = 500,
) -> int:
    """Move every sealed cell to the ring's newest key; returns cells rewritten.

    Rows are named by ``row_id_of`` (as ``seal`` was given them). Commits per batch,
    so a large table rotates without one long transaction and reads keep working
    throughout (old keys still decrypt).
    """
    rewritten = 0
    for table_name, names in columns.items():
        table = metadata.tables[table_name]
        keys = list(table.primary_key.columns)
        offset = 0
        while True:
            rows = session.execute(
                select(*keys, *(table.c[n] for n in names)).order_by(*keys).limit(batch_size).offset(offset)
            ).mappings().all()
            if not rows:
                break
            for row in rows:
                row_id = row_id_of(table, row)
                cells = [(FieldRef(table_name, n, row_id), row[n]) for n in names]
                changes = {ref.column: token for ref, token in rotate(ring, cells)}
                if changes:
                    match = [key == row[key.name] for key in keys]
                    session.execute(update(table).where(*match).values(**changes))
                    rewritten += len(changes)
            session.commit()
            offset += len(rows)
    return rewritten
