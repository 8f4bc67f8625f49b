"""``Idempotency-Key``: a retried creation answers the first one's object instead of acting twice.

Every creating POST needs a key (``IdempotencyKeyRequired`` otherwise). A key belongs to one
agency. The owning service is what makes creation happen at most once: the key travels with the
RPC and the service stores it with the object under a unique constraint (``services.kit.creations``),
so a retry after a 503, a crash or a late queued RPC finds the object already made. The gateway's
record adds what only the front door can say:

- another request under the same key (another operation or body) → ``Conflict``, as long as the key
  is remembered (``RETENTION``);
- the same request while a first attempt is running → ``KeyInFlight`` (409 with ``Retry-After``),
  but only within that attempt's lease (a few gateway deadlines): a claim whose gateway died is
  taken over once its lease ends, and the retry is answered by the service's dedupe;
- the same request after success → the object again, rebuilt by the owning service from the key
  (``perform`` once more: the service answers the object the key made, it creates nothing), and
  marked as a replay.

The record holds a digest of the request and the created object's id, never a response body:
nothing personal and no API key is kept. A failed attempt releases its claim (the service still
dedupes a late execution). Records are purged ``RETENTION`` after their claim (``purge``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from gateway.exceptions import IdempotencyKeyRequired, KeyInFlight
from services.kit.creations import HEADER, check_key
from services.kit.creations import fingerprint as digest
from services.kit.errors import Conflict

REPLAY_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
DEFAULT_LEASE = timedelta(seconds=15)

__all__ = ["HEADER", "REPLAY_HEADER", "Created", "IdempotencyRecord", "InMemoryIdempotencyStore",
           "Outcome", "fingerprint", "run_once"]


@dataclass(frozen=True)
class IdempotencyRecord:
    agency_id: str
    key: str
    fingerprint: str
    created_at: datetime
    lease_until: datetime  # a claim not completed by then belongs to no running attempt
    object_id: str | None = None  # set once the first attempt succeeded

    @property
    def expires_at(self) -> datetime:
        return self.created_at + RETENTION

    def running_at(self, now: datetime) -> bool:
        """Whether an attempt holds the key: not completed, and its lease not yet over."""
        return self.object_id is None and self.lease_until > now


@dataclass(frozen=True)
class Created:
    """What ``perform`` answers: the object's id (remembered) and the body to send (not kept)."""

    object_id: str
    body: Any


@dataclass(frozen=True)
class Outcome:
    body: Any
    replayed: bool


class IdempotencyStore(Protocol):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Insert ``record`` unless an unexpired one exists for its (agency_id, key).

        Returns that existing record, or None when ``record`` was inserted. Atomic.
        """

    def take_over(self, stale: IdempotencyRecord, lease_until: datetime) -> bool:
        """Give the claim ``stale`` (lease over, not completed) a new lease, unless another
        attempt changed it first; True when this caller now holds it."""

    def complete(self, agency_id: str, key: str, object_id: str) -> None:
        """Record the created object's id on the claimed record."""

    def release(self, agency_id: str, key: str) -> None:
        """Forget a claim whose attempt failed, so the key can be used again."""

    def purge(self, now: datetime) -> int:
        """Delete the records expired at ``now``; returns how many."""


def fingerprint(agency_id: str, operation: str, body: Any) -> str:
    """SHA-256 over agency, operation and the parsed body in canonical JSON.

    Canonical (sorted keys, no spaces) so that key order or whitespace in a retry do not count
    as a different request.
    """
    return digest(agency_id, operation, body)


def run_once(store: IdempotencyStore, *, agency_id: str, key: str | None, operation: str,
             body: Any, perform: Callable[[], Created], now: datetime | None = None,
             lease: timedelta = DEFAULT_LEASE) -> Outcome:
    """Run ``perform`` under the (agency, key) claim; answer a completed key by ``perform`` again.

    ``perform`` must pass ``key`` to the owning service, which creates at most once per key and
    answers the object a repeat asks for. ``body`` is the JSON body as received. Raises
    ``IdempotencyKeyRequired`` without a key, ``InvalidRequest`` for a malformed one, ``Conflict``
    for a key used with another request, ``KeyInFlight`` while another attempt holds its lease,
    and whatever ``perform`` raises (after releasing the claim).
    """
    if key is None:
        raise IdempotencyKeyRequired(f"Creating requests need an {HEADER} header.")
    check_key(key)
    now = now or datetime.now(UTC)
    record = IdempotencyRecord(agency_id, key, fingerprint(agency_id, operation, body), now,
                               lease_until=now + lease)
    existing = store.claim(record)
    if existing is not None:
        if existing.fingerprint != record.fingerprint:
            raise Conflict("This Idempotency-Key was already used for a different request.")
        if existing.object_id is not None:
            return Outcome(perform().body, replayed=True)
        if existing.running_at(now) or not store.take_over(existing, record.lease_until):
            raise KeyInFlight("A request with this Idempotency-Key is still being processed.",
                              retry_after=_seconds_left(existing, now))
    try:
        created = perform()
    except BaseException:
        store.release(agency_id, key)
        raise
    store.complete(agency_id, key, created.object_id)
    return Outcome(created.body, replayed=False)


def _seconds_left(record: IdempotencyRecord, now: datetime) -> int:
    return max(1, int((record.lease_until - now).total_seconds() + 0.999))


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

    def take_over(self, stale: IdempotencyRecord, lease_until: datetime) -> bool:
        with self._lock:
            if self._records.get((stale.agency_id, stale.key)) != stale:
                return False
            self._records[(stale.agency_id, stale.key)] = replace(stale, lease_until=lease_until)
            return True

    def complete(self, agency_id: str, key: str, object_id: str) -> None:
        with self._lock:
            record = self._records[(agency_id, key)]
            self._records[(agency_id, key)] = replace(record, object_id=object_id)

    def release(self, agency_id: str, key: str) -> None:
        with self._lock:
            self._records.pop((agency_id, key), None)

    def purge(self, now: datetime) -> int:
        with self._lock:
            expired = [k for k, record in self._records.items() if record.expires_at <= now]
            for k in expired:
                del self._records[k]
            return len(expired)
