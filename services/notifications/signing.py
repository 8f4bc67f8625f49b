"""Webhook signatures: ``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The signed string is ``"<t>.<raw body>"``, keyed with the agency's webhook secret,
like the large payment and code-hosting platforms do. The timestamp inside the
signature lets a receiver refuse replays of old requests.

This module depends on the standard library only, so agencies can copy it as is
(see docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock


class SignatureError(ValueError):
    """The request must be refused; the subclass says why."""


class MalformedSignature(SignatureError):
    """The header is missing, unparsable, or has no v1 signature."""


class SignatureMismatch(SignatureError):
    """No v1 signature matches: wrong secret, or the body was changed on the way."""


class StaleSignature(SignatureError):
    """The timestamp is further from now than the tolerance: a replay or a bad clock."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def compute(secret: str | bytes, body: bytes, t: int) -> str:
    """The hex HMAC-SHA256 of ``"<t>.<body>"``."""
    signed = str(int(t)).encode("ascii") + b"." + body
    return hmac.new(_key(secret), signed, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, t: int | None = None) -> str:
    """The ``X-Signature`` header value for ``body`` sent at unix time ``t`` (default: now)."""
    t = int(time.time()) if t is None else int(t)
    return f"t={t},{SCHEME}={compute(secret, body, t)}"


def parse(header: str | None) -> tuple[int, list[str]]:
    """Split a header into its timestamp and v1 signatures.

    Raises ``MalformedSignature`` when the header is empty, has no integer ``t``,
    or carries no ``v1`` value.
    """
    if not header:
        raise MalformedSignature("missing signature header")
    t: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignature("signature header is not a list of key=value pairs")
        if name == "t":
            if not value.isdigit():
                raise MalformedSignature("signature timestamp is not a unix time")
            t = int(value)
        elif name == SCHEME:
            signatures.append(value)
        # Unknown schemes are ignored so that a future scheme can be added alongside v1.
    if t is None:
        raise MalformedSignature("signature header has no timestamp")
    if not signatures:
        raise MalformedSignature("signature header has no v1 signature")
    return t, signatures


def verify(
    secret: str | bytes,
    body: bytes,
    header: str | None,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a webhook request; return its timestamp when it is genuine and fresh.

    ``body`` must be the raw request body, byte for byte, before any JSON parsing.
    Raises ``MalformedSignature``, ``SignatureMismatch`` (tampered body or wrong
    secret) or ``StaleSignature`` (timestamp outside ``tolerance`` seconds of ``now``).
    The signature is checked before the timestamp, so a forged request is always
    reported as a mismatch.
    """
    t, signatures = parse(header)
    expected = compute(secret, body, t)
    # compare_digest on every candidate: the time taken must not reveal how much matched.
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureMismatch("signature does not match the body")
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        raise StaleSignature(f"signature timestamp is {int(abs(now - t))} s from now")
    return t
