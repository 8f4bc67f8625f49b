"""Cross-site request forgery tokens for the console's forms.

Each browser holds a random binding value in an HttpOnly, SameSite=Strict cookie; every form
carries ``HMAC(secret, binding)``. A post whose token does not match its cookie's binding is
refused, so a page of another site can neither read nor forge the token. The binding is replaced
at sign-in and sign-out, so a token seen before sign-in is useless after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

BINDING_BYTES = 32
_LABEL = b"console-csrf-v1"


def secret_from_pepper(pepper: bytes) -> bytes:
    """The console's CSRF key, derived from the gateway's pepper (never the pepper itself)."""
    return hmac.new(pepper, _LABEL, hashlib.sha256).digest()


def new_binding() -> str:
    """A fresh random binding value for the CSRF cookie."""
    return secrets.token_urlsafe(BINDING_BYTES)


def token_for(secret: bytes, binding: str) -> str:
    """The form token for ``binding``."""
    return hmac.new(secret, binding.encode(), hashlib.sha256).hexdigest()


def is_valid(secret: bytes, binding: str | None, token: str | None) -> bool:
    """Whether ``token`` was made for ``binding`` (both present), compared in constant time."""
    if not binding or not token:
        return False
    return hmac.compare_digest(token_for(secret, binding), token)
