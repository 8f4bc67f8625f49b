"""Errors that cross service boundaries.

Services raise these (or subclasses); nameko carries them over RPC by class and
arguments, and the gateway maps each class to an HTTP status and a stable code.
Arguments must stay JSON-serialisable and free of personal details.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


class NetworkError(Exception):
    """Base of every error the product raises on purpose."""

    code = "error"

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail, extra)
        self.detail = detail
        self.extra = extra


def _registered(cls):
    """Let nameko rebuild the real class on the calling side of an RPC.

    nameko rebuilds with ``cls(*exc_args)``, so the stored args are
    ``(detail, extra)``; ``__new__`` accepts that shape as well as keywords.
    """
    original_init = cls.__init__

    def __init__(self, detail: str = "", extra: dict | None = None, **kwargs: object) -> None:
        original_init(self, detail, **{**(extra or {}), **kwargs})

    cls.__init__ = __init__
    return deserialize_to_instance(cls)


@_registered
class InvalidRequest(NetworkError):
    """Input that fails validation. ``errors`` maps field names to messages."""

    code = "invalid_request"

    @property
    def errors(self) -> dict:
        return self.extra.get("errors", {})


@_registered
class NotFound(NetworkError):
    """Unknown object, or one the caller's agency may not see (same answer on purpose)."""

    code = "not_found"


@_registered
class Forbidden(NetworkError):
    code = "forbidden"


@_registered
class ConsentRequired(NetworkError):
    """No consent valid now covers this disclosure. ``reason`` is a deny code."""

    code = "consent_required"


@_registered
class Conflict(NetworkError):
    """The request is well formed but the object's state does not allow it."""

    code = "conflict"


@_registered
class ServiceUnavailable(NetworkError):
    """A service the request needs did not answer in time (or is not running)."""

    code = "service_unavailable"


@_registered
class DatabaseUnavailable(ServiceUnavailable):
    """A service's database did not answer within its bound, or refused the connection."""

    code = "service_unavailable"
