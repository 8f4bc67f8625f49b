"""The gateway's Idempotency-Key claims: required, leased, replayed through the owning service.

``Service`` stands in for the owning service behind the RPC: like the real ones it creates at most
one object per key and answers a repeat with that object, so these tests count what it really made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.exceptions import IdempotencyKeyRequired, KeyInFlight
from gateway.idempotency import (
    DEFAULT_LEASE,
    Created,
    IdempotencyRecord,
    InMemoryIdempotencyStore,
    fingerprint,
    run_once,
)
from services.kit.errors import Conflict, InvalidRequest, ServiceUnavailable

BODY = {"participant_id": "p-1", "consent_id": "c-1", "needs": {"languages": ["es"]}}
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Service:
    """Creates one object per (agency, key), as the owning services do; may fail first."""

    def __init__(self, *, failures: list[BaseException] | None = None) -> None:
        self.made: dict[str, str] = {}
        self.calls = 0
        self.failures = list(failures or [])

    def create(self, key: str) -> Created:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        object_id = self.made.setdefault(key, f"r-{len(self.made) + 1}")
        return Created(object_id, {"id": object_id})


def call(store, service, *, key="key-1", agency="a-1", operation="create_referral", body=BODY,
         now=T0, perform=None):
    return run_once(store, agency_id=agency, key=key, operation=operation, body=body,
                    perform=perform or (lambda: service.create(key)), now=now)


def test_same_key_and_body_answer_the_first_object_marked_as_a_replay():
    store, service = InMemoryIdempotencyStore(clock=lambda: T0), Service()
    first = call(store, service)
    again = call(store, service, body={**BODY})
    assert again.body == first.body == {"id": "r-1"}
    assert again.replayed and not first.replayed
    assert service.made == {"key-1": "r-1"}


def test_the_store_keeps_the_object_id_and_a_digest_never_the_answer():
    store, service = InMemoryIdempotencyStore(clock=lambda: T0), Service()
    call(store, service)
    (record,) = store._records.values()
    assert record.object_id == "r-1"
    assert record.fingerprint == fingerprint("a-1", "create_referral", BODY)
    assert "participant_id" not in repr(record) and "p-1" not in repr(record)


def test_key_order_in_the_body_does_not_matter():
    reordered = {"needs": {"languages": ["es"]}, "consent_id": "c-1", "participant_id": "p-1"}
    assert fingerprint("a-1", "create_referral", reordered) == fingerprint(
        "a-1", "create_referral", BODY)


@pytest.mark.parametrize("change", [{"body": {**BODY, "consent_id": "c-2"}},
                                    {"operation": "create_mentor"}])
def test_same_key_for_another_request_is_a_conflict(change):
    store, service = InMemoryIdempotencyStore(clock=lambda: T0), Service()
    call(store, service)
    with pytest.raises(Conflict) as caught:
        call(store, service, **change)
    assert not isinstance(caught.value, KeyInFlight)
    assert service.calls == 1


def test_keys_belong_to_one_agency():
    store, service = InMemoryIdempotencyStore(clock=lambda: T0), Service()
    call(store, service, agency="a-1")
    assert not call(store, service, agency="a-2").replayed


def test_a_retry_within_the_first_attempts_lease_is_told_when_to_come_back():
    store, service = InMemoryIdempotencyStore(clock=lambda: T0), Service()

    def slow_first_attempt() -> Created:
        with pytest.raises(KeyInFlight) as caught:
            call(store, service, now=T0 + timedelta(seconds=5))
        assert caught.value.retry_after == int((DEFAULT_LEASE - timedelta(seconds=5)).total_seconds())
        return service.create("key-1")

    call(store, service, perform=slow_first_attempt)
    assert service.made == {"key-1": "r-1"}


def test_a_claim_whose_gateway_died_is_taken_over_after_its_lease_and_answers_the_object():
    store, service = InMemoryIdempotencyStore(clock=lambda: T0), Service()
    # The first gateway claimed the key, the service created the object, the gateway died.
    store.claim(_record_claimed_at(T0))
    service.create("key-1")
    with pytest.raises(KeyInFlight):
        call(store, service, now=T0 + DEFAULT_LEASE - timedelta(seconds=1))
    after = call(store, service, now=T0 + DEFAULT_LEASE + timedelta(seconds=1))
    assert after.body == {"id": "r-1"} and service.made == {"key-1": "r-1"}
    assert call(store, service, now=T0 + timedelta(hours=1)).replayed


def test_only_one_retry_takes_over_a_stale_claim():
    store = InMemoryIdempotencyStore(clock=lambda: T0)
    stale = _record_claimed_at(T0)
    store.claim(stale)
    later = T0 + DEFAULT_LEASE + timedelta(seconds=1)
    assert store.take_over(stale, later + DEFAULT_LEASE)
    assert not store.take_over(stale, later + DEFAULT_LEASE)


def test_a_failed_attempt_frees_the_key_and_the_retry_gets_the_one_object():
    # The first attempt timed out at the gateway (503) after the service had made the object.
    store = InMemoryIdempotencyStore(clock=lambda: T0)
    service = Service(failures=[ServiceUnavailable("late")])
    with pytest.raises(ServiceUnavailable):
        call(store, service)
    assert store._records == {}
    retried = call(store, service, now=T0 + timedelta(seconds=6))
    assert retried.body == {"id": "r-1"} and service.made == {"key-1": "r-1"}


def test_a_refused_request_may_be_corrected_under_the_same_key():
    store = InMemoryIdempotencyStore(clock=lambda: T0)
    service = Service(failures=[InvalidRequest("bad", errors={"reason": ["Missing."]})])
    with pytest.raises(InvalidRequest):
        call(store, service)
    assert not call(store, service, body={**BODY, "reason": "fixed"}).replayed


def test_records_expire_after_a_day_and_are_purged():
    clock = [T0]
    store, service = InMemoryIdempotencyStore(clock=lambda: clock[0]), Service()
    call(store, service, key="old")
    clock[0] += timedelta(hours=23)
    call(store, service, key="new", now=clock[0])
    assert store.purge(T0 + timedelta(hours=25)) == 1
    assert [record.key for record in store._records.values()] == ["new"]


def test_a_creating_request_without_a_key_is_refused_naming_the_header():
    service = Service()
    with pytest.raises(IdempotencyKeyRequired) as caught:
        call(InMemoryIdempotencyStore(), service, key=None)
    assert "Idempotency-Key" in caught.value.detail
    assert service.calls == 0


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ключ"])
def test_malformed_keys_are_refused_naming_the_header(key):
    with pytest.raises(InvalidRequest) as caught:
        call(InMemoryIdempotencyStore(), Service(), key=key)
    assert list(caught.value.errors) == ["Idempotency-Key"]


def _record_claimed_at(at: datetime):
    return IdempotencyRecord("a-1", "key-1", fingerprint("a-1", "create_referral", BODY), at,
                             lease_until=at + DEFAULT_LEASE)


def test_the_network_client_knows_every_creating_route():
    from gateway.routes import ROUTES
    from network.processes import CREATING_PATHS
    assert CREATING_PATHS == {route.path for route in ROUTES if route.creates}
