"""Encrypted columns in a service's tables, and their key rotation.

A service lists its encrypted columns (``{"participants": ("given_name", ...)}``);
values are stored as ``KeyRing`` tokens bound to ``<table>/<column>/<row id>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nameko.extensions import DependencyProvider
from sqlalchemy import MetaData, select, update
from sqlalchemy.orm import Session

from services.kit.config import ConfigError
from services.kit.crypto import FieldRef, KeyRing, rotate


class FieldKeys(DependencyProvider):
    """The service's key ring, from config ``FIELD_ENCRYPTION_KEYS`` (``kid:b64,...``, newest last)."""

    def setup(self) -> None:
        spec = self.container.config.get("FIELD_ENCRYPTION_KEYS")
        if not spec or spec == "None":
            raise ConfigError("FIELD_ENCRYPTION_KEYS is not set (kid:<base64 32 bytes>,...)")
        self.ring = KeyRing.from_config(str(spec))

    def get_dependency(self, worker_ctx) -> KeyRing:
        return self.ring


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


def reencrypt_columns(
    session: Session,
    metadata: MetaData,
    ring: KeyRing,
    columns: Mapping[str, Sequence[str]],
    *,
    id_column: str = "id",
    batch_size: int = 500,
) -> int:
    """Move every encrypted cell to the ring's newest key; returns cells rewritten.

    Commits per batch, so a large table rotates without one long transaction and
    reads keep working throughout (old keys still decrypt).
    """
    rewritten = 0
    for table_name, names in columns.items():
        table = metadata.tables[table_name]
        key = table.c[id_column]
        last = None
        while True:
            query = select(key, *(table.c[n] for n in names)).order_by(key).limit(batch_size)
            if last is not None:
                query = query.where(key > last)
            rows = session.execute(query).all()
            if not rows:
                break
            for row in rows:
                row_id = str(row[0])
                cells = [(FieldRef(table_name, n, row_id), row[i + 1]) for i, n in enumerate(names)]
                changes = {ref.column: token for ref, token in rotate(ring, cells)}
                if changes:
                    session.execute(update(table).where(key == row[0]).values(**changes))
                    rewritten += len(changes)
            session.commit()
            last = rows[-1][0]
    return rewritten
