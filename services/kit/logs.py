"""Logging that keeps personal details out of log records.

Fields are marked personal by name (``PERSONAL_FIELDS``); any mapping found in a
record's arguments or ``extra`` has those values replaced before formatting, and
e-mail addresses and phone numbers in free text are masked as a second line of defence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

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
