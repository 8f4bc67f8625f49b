"""Field encryption: AES-256-GCM bound to table, column and row, with a key ring.

A token looks like ``v1.<key id>.<base64 nonce + ciphertext>``. The associated
data is ``<table>/<column>/<row id>``, so a ciphertext copied to another row or
column does not decrypt. The newest key encrypts; every key in the ring decrypts,
which lets ``reencrypt`` move rows to a new key while reads keep working.

Keys come from configuration as ``"kid1:<base64 32 bytes>,kid2:<...>"``, newest last.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# cryptography (about 7 MB of native code) is imported by the first key ring or key made, not
# with this module: matching and outcomes seal no field and never make one.

_PREFIX = "v1"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """A token that cannot be decrypted: unknown key, altered bytes or wrong binding."""


@dataclass(frozen=True)
class FieldRef:
    """Where a value lives; bound into the ciphertext as associated data."""

    table: str
    column: str
    row_id: str

    def associated_data(self) -> bytes:
        return f"{self.table}/{self.column}/{self.row_id}".encode()


def generate_key() -> str:
    """A fresh base64 AES-256 key, for configuration."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


class KeyRing:
    """Named AES-256 keys; the last one added is the one that encrypts."""

    def __init__(self, keys: Iterable[tuple[str, bytes]]) -> None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._invalid_tag = InvalidTag  # what opening fails with: a wrong key or altered text
        self._keys: dict[str, AESGCM] = {}
        self.primary_id = ""
        for key_id, key in keys:
            if not key_id or "." in key_id or ":" in key_id:
                raise ValueError(f"invalid key id {key_id!r}")
            if len(key) != 32:
                raise ValueError(f"key {key_id} must be 32 bytes")
            self._keys[key_id] = AESGCM(key)
            self.primary_id = key_id
        if not self._keys:
            raise ValueError("the key ring is empty")

    @classmethod
    def from_config(cls, spec: str) -> KeyRing:
        """Parse ``"kid1:<b64>,kid2:<b64>"`` (newest last). Raises ``ValueError`` if malformed."""
        pairs = []
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = item.partition(":")
            pairs.append((key_id, base64.b64decode(encoded, validate=True)))
        return cls(pairs)

    def encrypt(self, plaintext: str, ref: FieldRef) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.primary_id].encrypt(nonce, plaintext.encode(), ref.associated_data())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{_PREFIX}.{self.primary_id}.{body}"

    def decrypt(self, token: str, ref: FieldRef) -> str:
        """Raises ``DecryptionError``; never returns garbage."""
        key_id = self.key_id_of(token)
        try:
            raw = base64.urlsafe_b64decode(token.split(".", 2)[2])
            nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            return self._keys[key_id].decrypt(nonce, sealed, ref.associated_data()).decode()
        except (self._invalid_tag, ValueError, KeyError) as exc:
            raise DecryptionError(f"cannot decrypt {ref.table}.{ref.column}") from exc

    def key_id_of(self, token: str) -> str:
        parts = token.split(".", 2)
        if len(parts) != 3 or parts[0] != _PREFIX:
            raise DecryptionError("not a field-encryption token")
        if parts[1] not in self._keys:
            raise DecryptionError(f"unknown key id {parts[1]!r}")
        return parts[1]

    def needs_rotation(self, token: str) -> bool:
        return self.key_id_of(token) != self.primary_id

    def reencrypt(self, token: str, ref: FieldRef) -> str:
        """The same plaintext under the primary key (unchanged if already there)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, ref), ref)


def rotate(ring: KeyRing, cells: Iterable[tuple[FieldRef, str]]) -> Iterator[tuple[FieldRef, str]]:
    """Yield ``(ref, new token)`` for every cell not yet under the primary key."""
    for ref, token in cells:
        if token is not None and ring.needs_rotation(token):
            yield ref, ring.reencrypt(token, ref)
