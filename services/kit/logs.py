"""Logging that keeps personal details out of log records.

Fields are marked personal by name (``PERSONAL_FIELDS``); any mapping found in a
record's arguments or ``extra`` has those values replaced before formatting, and
e-mail addresses and phone numbers in free text (tracebacks included) are masked as a second
line of defence.

``WorkerErrorFilter`` makes nameko's log of a failed worker useful to an operator: one INFO line
for an expected error, the traceback and the request id for anything else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from services.kit.errors import NetworkError, ServiceUnavailable
from services.kit.rpc import REQUEST_ID

PERSONAL_FIELDS = frozenset({
    "participant", "given_name", "family_name", "name", "signer_name", "birth_date",
    "phone", "email", "address", "reason", "display_name", "details", "api_key",
    "webhook_secret", "secret", "password", "token", "authorization",
})
REDACTED = "[redacted]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# International numbers start with "+"; local ones look like "(555) 555-0100" or "555-555-0100".
# Addresses ("127.0.0.1:5672") and timestamps ("2026-11-21 06:01") stay readable.
_PHONE = re.compile(r"\+\d[\d\s()-]{6,}\d|\(?\b\d{3}\)?[\s-]\d{3}-\d{4}\b")
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def scrub(value: Any) -> Any:
    """Return ``value`` with personal fields of any nested mapping redacted."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in PERSONAL_FIELDS else scrub(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(scrub(v) for v in value)
    if isinstance(value, str):
        return _PHONE.sub(REDACTED, _EMAIL.sub(REDACTED, value))
    return value


class PersonalDataFilter(logging.Filter):
    """Redacts personal fields in a record's args, extras and message text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            record.args = scrub(record.args)
        elif isinstance(record.args, tuple):
            record.args = tuple(scrub(a) for a in record.args)
        for key in set(vars(record)) - _STANDARD_ATTRS:
            if key.lower() in PERSONAL_FIELDS:
                setattr(record, key, REDACTED)
            else:
                setattr(record, key, scrub(getattr(record, key)))
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if record.exc_info and not record.exc_text:
            # A traceback ends with the exception's text, which may quote what it was given.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


def install_scrubber(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``logger`` (the root by default), once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())


def configure_logging(level: str = "INFO") -> None:
    """Basic stderr logging with the scrubber in place (for the CLI and `make run`)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_scrubber()
    install_worker_error_filter()


# nameko's container logs every failed worker as "(expected) error handling worker <ctx>: <exc>"
# (WARNING, with traceback) or "error handling worker <ctx>: <exc>" (ERROR, with traceback).
_WORKER_FAILURE = frozenset({"(expected) error handling worker %s: %s", "error handling worker %s: %s"})


class WorkerErrorFilter(logging.Filter):
    """Rewrites nameko's "error handling worker" records for an operator.

    An expected error (the kit's ``NetworkError`` family, or one the entrypoint declares
    expected) is an answer, not a fault: it becomes one INFO line naming the entrypoint, the
    error class and the request id, with no traceback. Any other error keeps its traceback
    and gains the request id. Entrypoints that log their own failures (``logs_own_errors``,
    the gateway's HTTP routes) are dropped here so each failure is logged once. Attach it to
    the ``nameko.containers`` logger (the ``LOGGING`` section of each ``config.yml``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in _WORKER_FAILURE or not isinstance(record.args, tuple) or len(record.args) != 2:
            return True
        worker_ctx, exc = record.args
        entrypoint = getattr(worker_ctx, "entrypoint", None)
        if getattr(entrypoint, "logs_own_errors", False):
            return False
        where = f"{getattr(worker_ctx, 'service_name', '?')}.{getattr(entrypoint, 'method_name', '?')}"
        facts = (where, type(exc).__name__, request_id_of(worker_ctx) or "-")
        if isinstance(exc, ServiceUnavailable):
            _one_line(record, logging.WARNING, "%s could not answer: %s (request %s)", facts)
        elif is_expected(exc, getattr(entrypoint, "expected_exceptions", ())):
            _one_line(record, logging.INFO, "%s answered %s (request %s)", facts)
        else:
            record.levelno, record.levelname = logging.ERROR, "ERROR"
            record.msg, record.args = "%s failed: %s (request %s)", facts
        return True


def _one_line(record: logging.LogRecord, level: int, msg: str, args: tuple) -> None:
    record.levelno, record.levelname = level, logging.getLevelName(level)
    record.msg, record.args = msg, args
    record.exc_info, record.exc_text = None, None


def is_expected(exc: object, declared: Any = ()) -> bool:
    """Whether ``exc`` is an answer rather than a fault: a kit error, or one ``declared`` expected."""
    return isinstance(exc, NetworkError) or (bool(declared) and isinstance(exc, declared))


def request_id_of(worker_ctx: Any) -> str | None:
    """The request id the gateway gave this call chain, from the worker's context data."""
    data = getattr(worker_ctx, "data", None)
    return data.get(REQUEST_ID) if isinstance(data, Mapping) else None


def install_worker_error_filter() -> None:
    """Attach ``WorkerErrorFilter`` to nameko's container logger, once (for the CLI and tests)."""
    target = logging.getLogger("nameko.containers")
    if not any(isinstance(f, WorkerErrorFilter) for f in target.filters):
        target.addFilter(WorkerErrorFilter())
