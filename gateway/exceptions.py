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


# Raised by services too, so it lives in the kit and crosses RPC as itself.
ServiceUnavailable = kit_errors.ServiceUnavailable
