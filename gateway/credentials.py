"""What a person signs in with: a password (argon2id), a TOTP code (RFC 6238), and the opaque
tokens the gateway hands out (invitations and sessions). Pure functions, no database.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106's second recommended
profile); the hash string carries its salt and parameters, so they can be raised later
(``password_needs_rehash``). TOTP is ``pyotp``: 30-second steps, six digits, SHA-1, as every
authenticator app expects; one step of clock drift either way is accepted, and a step already used
is not accepted again.

Tokens read ``<prefix>_<id>_<secret>`` like API keys (``gateway.auth``): the id finds the row, the
secret is 256 random bits, and only the peppered HMAC of both is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.auth import key_digest

ISSUER = "Recovery Referral Network"
INVITATION_PREFIX = "ri"
SESSION_PREFIX = "rs"
_TOKEN_ID_BYTES = 8
_TOKEN_SECRET_BYTES = 32
_TOKEN = re.compile(r"^(?P<prefix>r[is])_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
_DRIFT_STEPS = 1

_hasher = PasswordHasher()  # argon2id
# Verified against when the email is unknown, so that answer takes as long as a wrong password.
_NO_SUCH_PASSWORD = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salt and parameters included)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; False (after the same work) when there is none."""
    try:
        return _hasher.verify(stored_hash or _NO_SUCH_PASSWORD, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def accepted_totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, if it is valid at ``now`` and newer than ``last_step``.

    Accepts one step of drift either way; compares in constant time; None when refused.
    """
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (last_step is None or step > last_step):
            found = step
    return found


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    token: str  # give to the person once; never store or log it
    digest: str  # store this


def issue_token(prefix: str, pepper: bytes) -> IssuedToken:
    """A new random token of ``prefix`` (``ri`` invitation, ``rs`` session)."""
    token_id = secrets.token_hex(_TOKEN_ID_BYTES)
    secret = secrets.token_urlsafe(_TOKEN_SECRET_BYTES)
    digest = token_digest(prefix, token_id, secret, pepper)
    return IssuedToken(token_id, f"{prefix}_{token_id}_{secret}", digest)


def token_digest(prefix: str, token_id: str, secret: str, pepper: bytes) -> str:
    """The stored form of a token: HMAC-SHA256 under the pepper, bound to its kind and id."""
    return key_digest(f"{prefix}:{token_id}", secret, pepper)


def parse_token(token: str, prefix: str) -> tuple[str, str] | None:
    """``(token id, secret)`` when ``token`` is a well-formed token of ``prefix``, else None."""
    found = _TOKEN.match(token or "")
    if not found or found["prefix"] != prefix:
        return None
    return found["id"], found["secret"]


def is_session_token(token: str) -> bool:
    """Whether a bearer token is shaped as a person's session token (not an API key)."""
    return token.startswith(f"{SESSION_PREFIX}_")


def email_index(email: str, pepper: bytes) -> str:
    """The keyed digest that finds a person by email without storing the email in clear."""
    normalised = email.strip().lower()
    return hmac.new(pepper, f"person-email:{normalised}".encode(), hashlib.sha256).hexdigest()
