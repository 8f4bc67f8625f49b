"""The gateway's key cache: entries for a few seconds, a bounded LRU, dropped by key or by agency,
off at 0, and never used while the invalidations are not heard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.adapters.key_invalidations import InvalidationListener, KeyChanges
from gateway.adapters.stores import SqlKeyStore
from gateway.auth import StoredKey, authenticate, issue_api_key, pepper_from_setting
from gateway.exceptions import Unauthenticated
from gateway.key_cache import KeyCache, cache_seconds, invalidation, read_invalidation

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PEPPER = pepper_from_setting("a server pepper that is long enough to count")


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def row(key_id: str = "0123456789abcdef", agency_id: str = "agency-1", **changes) -> StoredKey:
    return StoredKey(key_id, "d" * 64, agency_id, "clinic", frozenset({"referrer"}), **changes)


def listening_cache(seconds: float = 5, **kwargs) -> KeyCache:
    cache = KeyCache(seconds, **kwargs)
    cache.listening(True)
    return cache


def test_an_entry_is_used_for_its_lifetime_and_then_read_again():
    clock = Ticking()
    cache = listening_cache(5, clock=clock)
    cache.put(row(), None, cache.ticket())
    clock.now += 4.9
    assert cache.get("0123456789abcdef").stored == row()
    clock.now += 0.1
    assert cache.get("0123456789abcdef") is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_first_when_the_cache_is_full():
    cache = listening_cache(max_entries=3)
    for n in range(3):
        cache.put(row(f"{n:016x}"), None, cache.ticket())
    assert cache.get(f"{0:016x}") is not None  # the first is now the most recently used
    cache.put(row(f"{3:016x}"), None, cache.ticket())
    assert len(cache) == 3
    assert cache.get(f"{1:016x}") is None
    assert all(cache.get(f"{n:016x}") is not None for n in (0, 2, 3))


def test_a_key_is_forgotten_by_its_id_and_every_key_of_an_agency_by_the_agency():
    cache = listening_cache()
    cache.put(row("aaaaaaaaaaaaaaaa", "clinic"), None, cache.ticket())
    cache.put(row("bbbbbbbbbbbbbbbb", "clinic"), None, cache.ticket())
    cache.put(row("cccccccccccccccc", "hospital"), None, cache.ticket())
    cache.put(row("dddddddddddddddd", "hospital"), None, cache.ticket())

    assert cache.forget(key_ids=["cccccccccccccccc"]) == 1
    assert cache.get("cccccccccccccccc") is None and cache.get("dddddddddddddddd") is not None
    assert cache.forget(agency_ids=["clinic"]) == 2
    assert cache.get("aaaaaaaaaaaaaaaa") is None and cache.get("bbbbbbbbbbbbbbbb") is None
    assert cache.get("dddddddddddddddd") is not None


def test_a_row_read_before_an_invalidation_is_not_kept_after_it():
    cache = listening_cache()
    ticket = cache.ticket()  # a lookup starts reading ...
    cache.forget(key_ids=["0123456789abcdef"])  # ... the key is revoked meanwhile ...
    cache.put(row(), None, ticket)  # ... and what it read (not yet revoked) comes back
    assert cache.get("0123456789abcdef") is None
    cache.put(row(revoked=True), None, cache.ticket())
    assert cache.get("0123456789abcdef").stored.revoked


def test_zero_seconds_turns_the_cache_off():
    cache = listening_cache(0)
    assert not cache.enabled and not cache.trusted
    cache.put(row(), None, cache.ticket())
    assert cache.get("0123456789abcdef") is None and len(cache) == 0


def test_nothing_is_used_or_kept_while_the_invalidations_are_not_heard():
    cache = KeyCache(5)
    cache.put(row(), None, cache.ticket())
    assert len(cache) == 0 and not cache.trusted  # not yet listening

    cache.listening(True)
    cache.put(row(), None, cache.ticket())
    assert cache.get("0123456789abcdef") is not None
    ticket = cache.ticket()
    cache.listening(False)  # the broker is lost: what was kept may be stale by now
    assert cache.get("0123456789abcdef") is None and len(cache) == 0
    cache.listening(True)
    cache.put(row(), None, ticket)  # read before the listener came back: not kept
    assert cache.get("0123456789abcdef") is None


def test_a_cached_key_is_still_refused_once_its_rotation_overlap_ends():
    issued = issue_api_key(PEPPER)
    cache = listening_cache()
    cache.put(StoredKey(issued.key_id, issued.digest, "agency-1", "clinic", frozenset({"referrer"}),
                        expires_at=NOW + timedelta(minutes=1)), None, cache.ticket())

    class Cached:
        def find_key(self, key_id):
            return cache.get(key_id).stored

    header = f"Bearer {issued.api_key}"
    assert authenticate(header, Cached(), PEPPER, NOW).agency_id == "agency-1"
    with pytest.raises(Unauthenticated):
        authenticate(header, Cached(), PEPPER, NOW + timedelta(minutes=1))


class FakeUnitOfWork:
    """Counts the reads a ``SqlKeyStore`` makes; answers with ``rows``."""

    def __init__(self, rows: dict) -> None:
        self.rows = rows
        self.reads = 0
        self.session = self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def execute(self, statement):
        self.reads += 1
        return self

    rowcount = 1

    def first(self):
        return self.rows.get("found")

    def commit(self) -> None:
        pass


class Row:
    def __init__(self, key_id: str, **fields) -> None:
        self.key_id, self.digest, self.revoked_at, self.name = key_id, "d" * 64, None, "default"
        self.key_roles, self.expires_at, self.last_used_at = None, None, None
        self.id, self.kind, self.roles, self.status = "agency-1", "clinic", ["referrer"], "active"
        self.__dict__.update(fields)


def test_the_key_store_reads_a_cached_key_once_and_an_unknown_one_every_time():
    uow = FakeUnitOfWork({"found": Row("0123456789abcdef")})
    cache = listening_cache()
    assert SqlKeyStore(uow, cache).find_key("0123456789abcdef").agency_id == "agency-1"
    assert SqlKeyStore(uow, cache).find_key("0123456789abcdef").agency_id == "agency-1"
    assert uow.reads == 1

    uow.rows.clear()  # an unknown key is never remembered as unknown
    assert SqlKeyStore(uow, cache).find_key("fedcba9876543210") is None
    uow.rows["found"] = Row("fedcba9876543210")
    assert SqlKeyStore(uow, cache).find_key("fedcba9876543210") is not None
    assert uow.reads == 3

    off = listening_cache(0)
    for _ in range(2):
        SqlKeyStore(uow, off).find_key("fedcba9876543210")
    assert uow.reads == 5


def test_a_recorded_use_is_remembered_so_the_next_request_does_not_write_it_again():
    uow = FakeUnitOfWork({"found": Row("0123456789abcdef")})
    cache = listening_cache()
    store = SqlKeyStore(uow, cache)
    store.find_key("0123456789abcdef")
    store.mark_used("0123456789abcdef", NOW)  # last used never: written
    assert uow.reads == 2
    later = SqlKeyStore(uow, cache)
    later.find_key("0123456789abcdef")  # from the cache, which knows the use just written
    later.mark_used("0123456789abcdef", NOW + timedelta(seconds=3))
    assert uow.reads == 2


@pytest.mark.parametrize("value, seconds", [(None, 5.0), ("", 5.0), ("0", 0.0), ("2.5", 2.5), (60, 60.0)])
def test_the_setting_reads_seconds_with_five_by_default(value, seconds):
    assert cache_seconds(value) == seconds


@pytest.mark.parametrize("value", ["five", "-1", "61", "nan"])
def test_a_bad_setting_is_refused_naming_it(value):
    with pytest.raises(ValueError, match="KEY_CACHE_SECONDS"):
        cache_seconds(value)


def test_an_invalidation_carries_ids_only_and_refuses_anything_else():
    body = invalidation(["0123456789abcdef"], ["agency-1"])
    assert body == {"key_ids": ["0123456789abcdef"], "agency_ids": ["agency-1"]}
    assert read_invalidation(json.loads(json.dumps(body))) == (["0123456789abcdef"], ["agency-1"])
    with pytest.raises(ValueError):
        invalidation(["rn_0123456789abcdef_" + "s" * 43])  # a whole key is never sent
    for bad in ([], {"key_ids": "0123456789abcdef"}, {"key_ids": [1]}, {"agency_ids": [""]}):
        with pytest.raises(ValueError):
            read_invalidation(bad)


class Message:
    def __init__(self, body: str, content_type: str = "application/json") -> None:
        self.body, self.content_type = body, content_type
        self.content_encoding, self.headers = "utf-8", {}


def test_the_listener_drops_what_a_broadcast_names_and_everything_for_one_it_cannot_read():
    cache = listening_cache()
    listener = InvalidationListener("memory://", cache)
    cache.put(row("aaaaaaaaaaaaaaaa", "clinic"), None, cache.ticket())
    cache.put(row("bbbbbbbbbbbbbbbb", "hospital"), None, cache.ticket())
    cache.put(row("cccccccccccccccc", "shelter"), None, cache.ticket())

    listener._on_message(Message(json.dumps(invalidation(["aaaaaaaaaaaaaaaa"], ["hospital"]))))
    assert [k for k in ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc") if cache.get(k)] \
        == ["cccccccccccccccc"]
    listener._on_message(Message("not json", "text/plain"))
    assert len(cache) == 0


def test_a_change_is_dropped_here_even_when_it_cannot_be_broadcast(caplog):
    cache = listening_cache()
    cache.put(row("aaaaaaaaaaaaaaaa", "clinic"), None, cache.ticket())
    cache.put(row("bbbbbbbbbbbbbbbb", "hospital"), None, cache.ticket())
    changes = KeyChanges(cache, "amqp://guest:guest@127.0.0.1:1//")  # nothing listens there

    changes.changed(agency_ids=["clinic"])  # the change is committed: no error for the caller

    assert cache.get("aaaaaaaaaaaaaaaa") is None and cache.get("bbbbbbbbbbbbbbbb") is not None
    assert "could not be broadcast" in caplog.text and "clinic" not in caplog.text
