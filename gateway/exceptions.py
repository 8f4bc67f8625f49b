"""Errors the gateway raises itself, before any service is asked.

They extend the product's ``NetworkError`` so ``problems`` renders them like any other; they
never cross an RPC boundary, so they are not registered with nameko.
"""

from __future__ import annotations

from services.kit import errors as kit_errors
from services.kit.errors import NetworkError


class Unauthenticated(NetworkError):
    """No API key, a malformed one, or one that does not verify."""

    code = "unauthorized"


class SignInRefused(Unauthenticated):
    """A sign-in, enrolment or invitation that does not check out; one answer for every reason."""

    code = "sign_in_refused"

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail or "The email, password or code is not right, or sign-in is "
                         "locked for a while after too many failures.", **extra)


class MalformedBody(NetworkError):
    """The body is not JSON, or not a JSON object."""

    code = "invalid_request"


class PayloadTooLarge(NetworkError):
    """The body is larger than the gateway accepts."""

    code = "payload_too_large"


class RateLimited(NetworkError):
    """The agency has used up its requests for now (``gateway/limits.py``)."""

    code = "rate_limited"

    def __init__(self, detail: str = "", *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


# Raised by services too, so it lives in the kit and crosses RPC as itself.
ServiceUnavailable = kit_errors.ServiceUnavailable


class IdempotencyKeyRequired(NetworkError):
    """A creating POST came without an ``Idempotency-Key`` header."""

    code = "idempotency_key_required"


class KeyInFlight(kit_errors.Conflict):
    """Another attempt with the same ``Idempotency-Key`` is running, within its lease.

    ``retry_after`` is the seconds until that lease ends (the ``Retry-After`` answered).
    """

    code = "idempotency_key_in_flight"

    def __init__(self, detail: str = "", *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
