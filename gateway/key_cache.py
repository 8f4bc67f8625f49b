"""The key rows a gateway process read lately, kept a few seconds so a request need not read its own.

``KEY_CACHE_SECONDS`` (default 5; 0 turns the cache off) bounds how long an entry is used; at most
``MAX_ENTRIES`` keys are kept, the least recently used going first. Only what ``find_key`` found is
kept: an unknown key id is read afresh every time, so a key created a moment ago works at once.
Expiry (a rotated key's ``expires_at``) is judged by each request against its clock, as before.

The cache is trusted only while this process hears the key changes every gateway broadcasts
(``gateway/adapters/key_invalidations.py``): a revocation, a rotation, an agency's deactivation or
reactivation drops the entries it makes wrong, here before the change is answered and in every
other gateway process as soon as the broadcast arrives. While the listener is not connected,
``get`` finds nothing and ``put`` keeps nothing: every request reads its row, as without a cache.

Lookups race with changes: a row read before a change was committed may come back after that
change's invalidation was applied. Each lookup takes a ``ticket`` (the cache's generation) before
it reads, and ``put`` keeps the row only if no invalidation came in between.

Everything here runs in one eventlet hub: no method yields, so none needs a lock.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gateway.auth import StoredKey

DEFAULT_SECONDS = 5.0
# A few thousand keys: far more than a deployment's active machine keys, a few MiB at most.
MAX_ENTRIES = 4096
# What an invalidation carries: ids only, never a secret or a digest.
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_MAX_AGENCY_ID = 64
_MAX_IDS = 1000


def cache_seconds(value: Any) -> float:
    """``KEY_CACHE_SECONDS`` as a number of seconds; empty or missing is the default (5).

    Raises ``ValueError`` naming the setting for anything but a number from 0 to 60: a longer
    cache would keep a key the broadcast missed alive too long.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_SECONDS
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"KEY_CACHE_SECONDS must be a number of seconds, not {str(value)[:40]!r}") from None
    if not 0 <= seconds <= 60:
        raise ValueError("KEY_CACHE_SECONDS must be between 0 (no cache) and 60")
    return seconds


@dataclass(frozen=True)
class CachedKey:
    """A key row as ``find_key`` read it, and when this process last knew it to be used."""

    stored: StoredKey
    last_used_at: datetime | None


class KeyCache:
    """An LRU of ``StoredKey`` by key id, each entry used for ``seconds`` after it was read."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if seconds < 0:
            raise ValueError("the key cache's lifetime cannot be negative")
        if max_entries < 1:
            raise ValueError("the key cache must hold at least one entry")
        self.seconds = float(seconds)
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, CachedKey]] = OrderedDict()
        self._generation = 0
        self._listening = False

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    @property
    def trusted(self) -> bool:
        """Whether entries may be used: enabled, and the invalidations are being heard."""
        return self.enabled and self._listening

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key_id: str) -> CachedKey | None:
        """The key's entry if it is younger than ``seconds`` and the cache is trusted, else None."""
        if not self.trusted:
            return None
        entry = self._entries.get(key_id)
        if entry is None:
            return None
        read_at, cached = entry
        if self._clock() - read_at >= self.seconds:
            del self._entries[key_id]
            return None
        self._entries.move_to_end(key_id)
        return cached

    def ticket(self) -> int:
        """Take before reading a row; hand to ``put`` with what was read."""
        return self._generation

    def put(self, stored: StoredKey, last_used_at: datetime | None, ticket: int) -> None:
        """Keep the row read under ``ticket``, unless an invalidation (or a change in the
        listener) came since, or the cache is not trusted."""
        if not self.trusted or ticket != self._generation:
            return
        self._entries[stored.key_id] = (self._clock(), CachedKey(stored, last_used_at))
        self._entries.move_to_end(stored.key_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def note_used(self, key_id: str, at: datetime) -> None:
        """The key's use was recorded (``last_used_at``) at ``at``: later requests need not."""
        entry = self._entries.get(key_id)
        if entry is not None:
            read_at, cached = entry
            self._entries[key_id] = (read_at, replace(cached, last_used_at=at))

    def forget(self, key_ids: Iterable[str] = (), agency_ids: Iterable[str] = ()) -> int:
        """Drop the entries of these keys and of every key of these agencies; how many went."""
        self._generation += 1
        keys, agencies = set(key_ids), set(agency_ids)
        gone = [key_id for key_id, (_, cached) in self._entries.items()
                if key_id in keys or cached.stored.agency_id in agencies]
        for key_id in gone:
            del self._entries[key_id]
        return len(gone)

    def forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()

    def listening(self, up: bool) -> None:
        """The listener connected (``True``) or lost the broker (``False``). Either way what was
        kept is dropped: invalidations may have been missed while nobody listened."""
        self.forget_all()
        self._listening = up


def invalidation(key_ids: Iterable[str] = (), agency_ids: Iterable[str] = ()) -> dict[str, list[str]]:
    """The broadcast body of a key change: the key ids and agency ids whose entries it makes wrong.

    Raises ``ValueError`` for an id that is not one (so nothing else is ever put on the wire).
    """
    body = {"key_ids": sorted(set(key_ids)), "agency_ids": sorted(set(agency_ids))}
    read_invalidation(body)
    return body


def read_invalidation(body: Any) -> tuple[list[str], list[str]]:
    """``(key ids, agency ids)`` of a broadcast body. Raises ``ValueError`` when it is not one."""
    if not isinstance(body, Mapping):
        raise ValueError("an invalidation is a JSON object")
    key_ids, agency_ids = body.get("key_ids", []), body.get("agency_ids", [])
    if not isinstance(key_ids, list) or not isinstance(agency_ids, list):
        raise ValueError("an invalidation's key_ids and agency_ids are lists")
    if len(key_ids) + len(agency_ids) > _MAX_IDS:
        raise ValueError("an invalidation names too many ids")
    if not all(isinstance(k, str) and _KEY_ID.match(k) for k in key_ids):
        raise ValueError("an invalidation's key ids are 16 hex digits")
    if not all(isinstance(a, str) and 0 < len(a) <= _MAX_AGENCY_ID for a in agency_ids):
        raise ValueError("an invalidation's agency ids are short strings")
    return list(key_ids), list(agency_ids)
