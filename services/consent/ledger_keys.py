"""The ledger's two secrets, read from the service config (and so from the environment).

``LEDGER_HMAC_KEY`` chains the entries; ``LEDGER_SIGNING_KEY`` (an Ed25519 seed) signs the
checkpoints, whose public half is enough to check them. Both are base64 of 32 bytes.
``LEDGER_CHECKPOINT_LOG`` is where each checkpoint is also written, outside the database.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.consent.adapters.checkpoint_log import CheckpointLog
from services.kit.config import ConfigError

DEFAULT_CHECKPOINT_EVERY = 100


@dataclass(frozen=True)
class LedgerKeyPair:
    """What appending to and verifying the ledger needs; ``checkpoint_log`` None: no outside copy."""

    hmac_key: bytes
    signing_key: Ed25519PrivateKey
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY
    checkpoint_log: CheckpointLog | None = None

    def public_key_pem(self) -> str:
        """The checkpoints' verification key as PEM (SubjectPublicKeyInfo): safe to publish."""
        return self.signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_ledger_keys(config: Mapping[str, Any]) -> LedgerKeyPair:
    """Read the keys, the checkpoint interval and the checkpoint log's path. Raises
    ``ConfigError`` naming what is wrong (never echoing a secret)."""
    hmac_key = _key(config, "LEDGER_HMAC_KEY")
    seed = _key(config, "LEDGER_SIGNING_KEY")
    try:
        every = int(config.get("LEDGER_CHECKPOINT_EVERY") or DEFAULT_CHECKPOINT_EVERY)
    except (TypeError, ValueError):
        raise ConfigError("LEDGER_CHECKPOINT_EVERY must be a whole number") from None
    if every < 1:
        raise ConfigError("LEDGER_CHECKPOINT_EVERY must be at least 1")
    log = str(config.get("LEDGER_CHECKPOINT_LOG") or "").strip()
    return LedgerKeyPair(hmac_key, Ed25519PrivateKey.from_private_bytes(seed), every,
                         CheckpointLog(log) if log not in ("", "None") else None)


def _key(config: Mapping[str, Any], name: str) -> bytes:
    return decode_key(config.get(name), name)


def decode_key(value: Any, name: str) -> bytes:
    """The 32 bytes of a base64 key setting called ``name``; ``ConfigError`` when it is unset
    or malformed (the message names the setting, never the value)."""
    # nameko's config loader turns an unset ${VAR} into None; the kit's into an error.
    if value is None or str(value).strip() in ("", "None"):
        raise ConfigError(f"{name} is not set (base64 of 32 random bytes, from the environment)")
    try:
        raw = base64.b64decode(str(value).strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name} is not valid base64") from None
    if len(raw) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes, not {len(raw)}")
    return raw
