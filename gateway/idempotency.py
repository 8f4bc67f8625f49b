"""``Idempotency-Key``: a retried creation returns the first result instead of acting twice.

A key belongs to one agency. Its first use claims it together with a fingerprint of
(agency, operation, body); the response is stored when the request completes. Later uses:
- same fingerprint, response stored → that response again, marked as a replay;
- same fingerprint, still running → ``Conflict`` (the client retried too early);
- another fingerprint → ``Conflict`` (a key reused for a different request).
Only a success (2xx) is stored; any other outcome, returned or raised, releases the claim so the
corrected or later retry runs for real. A timeout may still have created the object in the
service: pass the key on to the service so it can dedupe there too.

The store is an interface: ``claim`` must be atomic (a unique key on (agency_id, key) in SQL).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from services.kit.errors import Conflict, InvalidRequest

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


@dataclass(frozen=True)
class RecordedResponse:
    status: int
    body: str  # the JSON text sent the first time
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class IdempotencyRecord:
    agency_id: str
    key: str
    fingerprint: str
    created_at: datetime
    response: RecordedResponse | None = None  # None while the first request is running

    @property
    def expires_at(self) -> datetime:
        return self.created_at + RETENTION


@dataclass(frozen=True)
class Outcome:
    response: RecordedResponse
    replayed: bool


class IdempotencyStore(Protocol):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Insert ``record`` unless an unexpired one exists for its (agency_id, key).

        Returns that existing record, or None when ``record`` was inserted.
        """

    def complete(self, agency_id: str, key: str, response: RecordedResponse) -> None:
        """Attach the response to the claimed record."""

    def release(self, agency_id: str, key: str) -> None:
        """Forget a claim whose request failed, so the key can be used again."""


def check_key(key: str) -> str:
    """The key if well formed; raises ``InvalidRequest`` naming the header otherwise."""
    if not _KEY.match(key):
        raise InvalidRequest("Invalid Idempotency-Key.",
                             errors={HEADER: ["Use 1 to 255 printable ASCII characters."]})
    return key


def fingerprint(agency_id: str, operation: str, body: Any) -> str:
    """SHA-256 over agency, operation and the parsed body in canonical JSON.

    Canonical (sorted keys, no spaces) so that key order or whitespace in a retry do not count
    as a different request.
    """
    canonical = json.dumps([agency_id, operation, body], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(store: IdempotencyStore, *, agency_id: str, key: str | None, operation: str,
             body: Any, perform: Callable[[], RecordedResponse],
             now: datetime | None = None) -> Outcome:
    """Run ``perform`` once per (agency, key), replaying its first response on retries.

    ``body`` is the JSON body as received, before validation fills in defaults. Without a key,
    ``perform`` simply runs. Raises ``InvalidRequest`` for a malformed key, ``Conflict`` for a
    key in flight or reused with another request, and whatever ``perform`` raises (after
    releasing the claim).
    """
    if key is None:
        return Outcome(perform(), replayed=False)
    check_key(key)
    record = IdempotencyRecord(agency_id, key, fingerprint(agency_id, operation, body),
                               now or datetime.now(UTC))
    existing = store.claim(record)
    if existing is not None:
        if existing.fingerprint != record.fingerprint:
            raise Conflict("This Idempotency-Key was already used for a different request.")
        if existing.response is None:
            raise Conflict("A request with this Idempotency-Key is still being processed.")
        return Outcome(existing.response, replayed=True)
    try:
        response = perform()
    except BaseException:
        store.release(agency_id, key)
        raise
    if 200 <= response.status < 300:
        store.complete(agency_id, key, response)
    else:
        store.release(agency_id, key)
    return Outcome(response, replayed=False)


class InMemoryIdempotencyStore:
    """An ``IdempotencyStore`` in a dict: for tests and a single gateway process."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._records: dict[tuple[str, str], IdempotencyRecord] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        with self._lock:
            existing = self._records.get((record.agency_id, record.key))
            if existing is not None and existing.expires_at > self._clock():
                return existing
            self._records[(record.agency_id, record.key)] = record
            return None

    def complete(self, agency_id: str, key: str, response: RecordedResponse) -> None:
        with self._lock:
            record = self._records[(agency_id, key)]
            self._records[(agency_id, key)] = replace(record, response=response)

    def release(self, agency_id: str, key: str) -> None:
        with self._lock:
            self._records.pop((agency_id, key), None)
