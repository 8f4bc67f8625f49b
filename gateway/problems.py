"""Every error the gateway answers with, as RFC 9457 ``application/problem+json``.

``PROBLEMS`` is the one table from exception class to HTTP status and stable code; ``lookup``
walks the exception's MRO, so a service's ``class MentorAtCapacity(Conflict)`` answers 409 with
no new entry. ``problem_response`` is the one place that turns an exception into a response.

What an error shows: the product's own errors carry a ``detail`` written to be shown (ids and
statuses, never personal data); everything else gets a fixed sentence, so neither a request body,
a remote traceback nor a driver's message ever reaches a client.

The one exception to problem+json is the SMART token endpoint (``POST /fhir/auth/token``), whose
refusals are OAuth errors (``smart.OAuthError``) as its clients expect.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import amqp.exceptions
import kombu.exceptions
import nameko.exceptions
import sqlalchemy.exc
import werkzeug.exceptions
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from gateway.exceptions import (
    IdempotencyKeyRequired,
    KeyInFlight,
    MalformedBody,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    SignInRefused,
    Unauthenticated,
)
from gateway.smart import OAuthError
from services.consent.schemas import known_refusal
from services.kit.errors import (
    Conflict,
    ConsentRequired,
    Forbidden,
    InvalidRequest,
    NetworkError,
    NotFound,
)
from services.kit.messages import field_errors as field_errors_of  # dotted field paths

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# An identifier per code, not a link: clients branch on ``code``.
PROBLEM_TYPE_BASE = "urn:referral-network:problem:"
# A 503's ``Retry-After``: a retry with the same Idempotency-Key is always safe.
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class ProblemKind:
    status: int
    code: str
    title: str
    # Shown instead of the exception's own words, for errors whose message is not ours.
    fixed_detail: str | None = None


_INVALID_BODY = ProblemKind(400, "invalid_request", "Invalid request",
                            "The request could not be read.")
_UNAVAILABLE = ProblemKind(503, "service_unavailable", "Service unavailable",
                           "A service needed for this request is not answering; retry later.")
_INTERNAL = ProblemKind(500, "internal", "Internal error",
                        "Something went wrong on our side; the error has been logged.")

PROBLEMS: dict[type[BaseException], ProblemKind] = {
    # The product's errors, raised by services and rebuilt by nameko, or raised here.
    InvalidRequest: ProblemKind(422, "invalid_request", "Invalid request"),
    NotFound: ProblemKind(404, "not_found", "Not found"),
    Forbidden: ProblemKind(403, "forbidden", "Forbidden"),
    ConsentRequired: ProblemKind(403, "consent_required", "Consent required"),
    Conflict: ProblemKind(409, "conflict", "Conflict"),
    KeyInFlight: ProblemKind(409, "idempotency_key_in_flight", "Request in progress"),
    IdempotencyKeyRequired: ProblemKind(400, "idempotency_key_required", "Idempotency-Key required"),
    Unauthenticated: ProblemKind(401, "unauthorized", "Unauthorized"),
    SignInRefused: ProblemKind(401, "sign_in_refused", "Sign-in refused"),
    MalformedBody: ProblemKind(400, "invalid_request", "Invalid request"),
    PayloadTooLarge: ProblemKind(413, "payload_too_large", "Payload too large"),
    RateLimited: ProblemKind(429, "rate_limited", "Too many requests"),
    ServiceUnavailable: ProblemKind(503, "service_unavailable", "Service unavailable"),
    ValidationError: ProblemKind(422, "invalid_request", "Invalid request",
                                 "Some fields are missing or invalid."),
    # What werkzeug raises while reading the request or routing it.
    werkzeug.exceptions.BadRequest: _INVALID_BODY,
    werkzeug.exceptions.RequestEntityTooLarge: ProblemKind(
        413, "payload_too_large", "Payload too large", "The request body is too large."),
    werkzeug.exceptions.NotFound: ProblemKind(404, "not_found", "Not found", "No such resource."),
    werkzeug.exceptions.MethodNotAllowed: ProblemKind(
        405, "method_not_allowed", "Method not allowed",
        "This resource does not allow that method."),
    # A service that is down, unknown or too slow, and the broker connection under it.
    nameko.exceptions.RpcTimeout: _UNAVAILABLE,
    nameko.exceptions.UnknownService: _UNAVAILABLE,
    nameko.exceptions.ContainerBeingKilled: _UNAVAILABLE,
    nameko.exceptions.ReplyQueueExpiredWithPendingReplies: _UNAVAILABLE,
    amqp.exceptions.ConnectionError: _UNAVAILABLE,
    kombu.exceptions.OperationalError: _UNAVAILABLE,
    ConnectionError: _UNAVAILABLE,
    # The gateway's own database is down or full: retry later, as for a service.
    sqlalchemy.exc.OperationalError: _UNAVAILABLE,
    TimeoutError: _UNAVAILABLE,
    # An error a service did not mean to raise arrives as RemoteError: say nothing of it.
    nameko.exceptions.RemoteError: _INTERNAL,
    Exception: _INTERNAL,
}

# For nameko's ``@http(..., expected_exceptions=...)``: everything that is not a bug here, and the
# token endpoint's OAuth refusals.
EXPECTED_EXCEPTIONS: tuple[type[BaseException], ...] = (*(
    cls for cls, kind in PROBLEMS.items() if kind.status < 500 or kind.status == 503), OAuthError)


def lookup(exc: BaseException) -> ProblemKind:
    """The problem kind for ``exc``: its own class's entry, else its nearest ancestor's."""
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return _INTERNAL


def field_errors(exc: BaseException) -> dict[str, list[str]] | None:
    """The field errors to show for ``exc``, or None when it is not about fields."""
    if isinstance(exc, ValidationError):
        return field_errors_of(exc.messages)
    if isinstance(exc, InvalidRequest):
        return field_errors_of(exc.errors)
    return None


def problem_body(exc: BaseException) -> dict[str, Any]:
    """The RFC 9457 body for ``exc``: type, title, status, detail, code, and errors for 422."""
    kind = lookup(exc)
    detail = kind.fixed_detail
    if detail is None:
        detail = (exc.detail if isinstance(exc, NetworkError) else "") or kind.title + "."
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + kind.code, "title": kind.title,
                            "status": kind.status, "detail": detail, "code": kind.code}
    if kind.status == 422:
        body["errors"] = field_errors(exc) or {}
    if isinstance(exc, ConsentRequired):
        body["reason"] = known_refusal(exc.extra.get("reason"))
    return body


def problem_response(exc: BaseException, request_id: str | None = None) -> Response:
    """Render ``exc`` as an ``application/problem+json`` werkzeug response, and log it once.

    Never raises for any exception. A client error (4xx) is one INFO line; a service that is
    not answering (503) one WARNING line; any other failure is logged at ERROR with its
    traceback. Each line names the request id, which the body repeats as ``request_id``. The
    line names classes and codes only: an exception's text may carry what it was given.
    """
    if isinstance(exc, OAuthError):
        return oauth_error_response(exc, request_id)
    body = problem_body(exc)
    if request_id is not None:
        body["request_id"] = request_id
    log_problem(exc, body, request_id)
    response = Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_CONTENT_TYPE)
    if body["status"] == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="referral-network"'
    if body["status"] == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(exc, KeyInFlight | RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def oauth_error_response(exc: OAuthError, request_id: str | None = None) -> Response:
    """The token endpoint's refusal as RFC 6749 section 5.2 asks: JSON ``{"error",
    "error_description"}``, not a problem; logged as one INFO line like any client error."""
    log.info("request %s answered %d %s (OAuthError)", request_id or "-", exc.status, exc.error)
    response = Response(json.dumps(exc.body()), status=exc.status, mimetype="application/json",
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="referral-network"'
    return response


def log_problem(exc: BaseException, body: dict[str, Any], request_id: str | None) -> None:
    """One log line for the answered problem ``body``; a traceback only for a server fault."""
    status, code, request = body["status"], body["code"], request_id or "-"
    if status < 500:
        log.info("request %s answered %d %s (%s)", request, status, code, type(exc).__name__)
    elif status == 503:
        log.warning("request %s answered 503 %s (%s)", request, code, type(exc).__name__)
    elif isinstance(exc, nameko.exceptions.RemoteError):
        # The service logged its own traceback with this request id; its text may carry its input.
        log.error("request %s failed: RemoteError (%s)", request, exc.exc_type)
    else:
        log.error("request %s failed: %s", request, type(exc).__name__,
                  exc_info=(type(exc), exc, exc.__traceback__))
