"""API keys: issued per agency, shown once, stored as a keyed hash, checked in constant time.

A key reads ``rn_<key id>_<secret>``: the key id (16 hex digits) finds the stored row without
storing anything secret; the secret is 256 random bits from ``secrets``.

Why HMAC-SHA256 with a server pepper rather than scrypt: scrypt and its kin slow down guessing of
*low-entropy* secrets such as passwords. A 256-bit random secret cannot be guessed however fast
the hash is, so a deliberately slow hash would add only latency to every request. The pepper
(from the environment, never in the database) means a stolen key table alone does not even allow
checking a candidate key offline. The key id is part of the MAC input, so a digest copied onto
another row does not verify there.

A revoked key, a key past the end of its rotation overlap, and every key of a deactivated agency
are refused from the next request on: expiry is judged per request, and the key rows a gateway
process keeps (``gateway/key_cache.py``) are dropped in every process when a key or agency changes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gateway.exceptions import Unauthenticated

KEY_PREFIX = "rn"
KEY_ID_BYTES = 8
SECRET_BYTES = 32
MIN_PEPPER_BYTES = 32
_API_KEY = re.compile(r"^rn_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
# Compared against when the key id is unknown, so that case takes as long as a wrong secret.
_NO_SUCH_DIGEST = "0" * 64


@dataclass(frozen=True)
class Principal:
    """The agency a request acts for, and who acted: established by its API key or a person's
    session.

    ``actor`` is a plain label, ``key:<key name>`` for a machine key, ``person:<id>`` for a person
    signed in, ``smart:<client name>`` for a SMART back-end client's access token; with
    ``agency_id`` it is what the ledger and audit listings name. ``scopes`` are the SMART system
    scopes an access token was granted (None for keys and sessions), for ``smart.scope_allows``.
    """

    agency_id: str
    kind: str
    roles: frozenset[str]
    key_id: str | None = None
    actor: str = ""
    scopes: frozenset[str] | None = None

    def as_caller(self) -> dict[str, Any]:
        """The JSON-friendly form passed to services with each RPC."""
        caller = {"agency_id": self.agency_id, "kind": self.kind, "roles": sorted(self.roles)}
        if self.actor:
            caller["actor"] = self.actor
        if self.scopes is not None:
            caller["scopes"] = sorted(self.scopes)
        return caller


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    api_key: str  # give to the agency once; never store or log it
    digest: str  # store this with the key id


@dataclass(frozen=True)
class StoredKey:
    """A key row as the key store returns it: ``roles`` are those it may act in (its own roles,
    within its agency's)."""

    key_id: str
    digest: str
    agency_id: str
    kind: str
    roles: frozenset[str]
    revoked: bool = False
    name: str = "default"
    expires_at: datetime | None = None  # the end of a rotation's overlap
    agency_active: bool = True

    def usable_at(self, now: datetime) -> bool:
        """Not revoked, not past its overlap, and its agency is active."""
        expired = self.expires_at is not None and self.expires_at <= now
        return self.agency_active and not self.revoked and not expired


class KeyStore(Protocol):
    def find_key(self, key_id: str) -> StoredKey | None:
        """The key row for ``key_id``, or None."""


def pepper_from_setting(value: str | None) -> bytes:
    """The server pepper from its configured value (an environment variable).

    Raises ``ValueError`` when it is missing or shorter than 32 bytes: the gateway must not
    start with a guessable pepper.
    """
    pepper = (value or "").encode()
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ValueError(f"the API key pepper must be at least {MIN_PEPPER_BYTES} bytes")
    return pepper


def key_digest(key_id: str, secret: str, pepper: bytes) -> str:
    """HMAC-SHA256 over key id and secret under the pepper, as hex."""
    return hmac.new(pepper, f"{key_id}:{secret}".encode(), hashlib.sha256).hexdigest()


def issue_api_key(pepper: bytes) -> IssuedKey:
    """A new random key: return ``api_key`` to the caller once, store ``key_id`` and ``digest``."""
    key_id = secrets.token_hex(KEY_ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return IssuedKey(key_id, f"{KEY_PREFIX}_{key_id}_{secret}", key_digest(key_id, secret, pepper))


def parse_api_key(api_key: str) -> tuple[str, str]:
    """Split a key into ``(key_id, secret)``. Raises ``Unauthenticated`` when malformed."""
    found = _API_KEY.match(api_key)
    if not found:
        raise Unauthenticated("The API key is malformed.")
    return found["key_id"], found["secret"]


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header.

    Raises ``Unauthenticated`` when the header is missing, uses another scheme, or carries no
    single token. The scheme name is case-insensitive (RFC 9110).
    """
    if not authorization or not authorization.strip():
        raise Unauthenticated("Send the API key as 'Authorization: Bearer <api key>'.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated("Use the Bearer scheme: 'Authorization: Bearer <api key>'.")
    token = token.strip()
    if not token or " " in token:
        raise Unauthenticated("The Bearer credentials must be exactly one API key.")
    return token


def verify_api_key(api_key: str, stored_digest: str, pepper: bytes) -> bool:
    """Whether ``api_key`` matches ``stored_digest``, compared in constant time."""
    try:
        key_id, secret = parse_api_key(api_key)
    except Unauthenticated:
        return False
    return hmac.compare_digest(key_digest(key_id, secret, pepper), stored_digest)


def authenticate(authorization: str | None, keys: KeyStore, pepper: bytes, now: datetime) -> Principal:
    """The agency behind an ``Authorization`` header, acting as ``key:<key name>``.

    Raises ``Unauthenticated`` for a missing or malformed header, and one same message for an
    unknown, revoked, expired or wrong key or a deactivated agency, so the answer does not tell
    which it was.
    """
    key_id, secret = parse_api_key(bearer_token(authorization))
    stored = keys.find_key(key_id)
    expected = stored.digest if stored else _NO_SUCH_DIGEST
    matches = hmac.compare_digest(key_digest(key_id, secret, pepper), expected)
    if stored is None or not matches or not stored.usable_at(now):
        raise Unauthenticated("The API key is not valid.")
    return Principal(stored.agency_id, stored.kind, frozenset(stored.roles), key_id,
                     actor=f"key:{stored.name}")
