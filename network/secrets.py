"""Development secrets for `make run`, generated once into var/secrets.env and reused.

Reusing them matters: the field-encryption and ledger keys protect data already
written, so a second `make run` must find the same keys to read its own data.
Production secrets come from the environment (see deploy/generate_secrets.py). The
``referral-network`` command reads the same file when run from the project root
(``services.kit.config``), so it needs no exported variables on a development machine.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from services.kit.config import read_env_file

NAMES = ("FIELD_ENCRYPTION_KEYS", "LEDGER_HMAC_KEY", "LEDGER_SIGNING_KEY", "API_KEY_PEPPER",
         "GATEWAY_FIELD_ENCRYPTION_KEYS", "ENGAGEMENT_LOOKUP_KEY")


def fresh() -> dict[str, str]:
    """A new set of the network's secrets (each a random 32-byte key, base64)."""
    key = lambda: base64.b64encode(secrets.token_bytes(32)).decode()  # noqa: E731
    return {
        "FIELD_ENCRYPTION_KEYS": f"k1:{key()}",
        "LEDGER_HMAC_KEY": key(),
        "LEDGER_SIGNING_KEY": key(),
        "API_KEY_PEPPER": key(),
        "GATEWAY_FIELD_ENCRYPTION_KEYS": f"g1:{key()}",
        "ENGAGEMENT_LOOKUP_KEY": key(),
    }


def load_or_create(path: Path) -> dict[str, str]:
    """The secrets in ``path`` (created with mode 0600 on first use); the environment wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.writelines(f"{name}={value}\n" for name, value in fresh().items())
    stored = read_env_file(path)
    missing = {name: value for name, value in fresh().items() if name not in stored}
    if missing:  # a file from before a secret existed: add only the new ones, keep the rest
        with path.open("a") as out:
            out.writelines(f"{name}={value}\n" for name, value in missing.items())
        stored.update(missing)
    return {name: os.environ.get(name, stored[name]) for name in NAMES}
