"""A retried creation with the same Idempotency-Key returns the first result, never acts twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.idempotency import (
    InMemoryIdempotencyStore,
    RecordedResponse,
    fingerprint,
    run_once,
)
from services.kit.errors import Conflict, InvalidRequest

BODY = {"participant_id": "p-1", "consent_id": "c-1", "needs": {"languages": ["es"]}}


class Creator:
    """Stands in for the RPC call: counts how often it really acts."""

    def __init__(self, status: int = 201) -> None:
        self.calls, self.status = 0, status

    def __call__(self) -> RecordedResponse:
        self.calls += 1
        return RecordedResponse(self.status, json.dumps({"id": f"r-{self.calls}"}))


def call(store, creator, *, key="key-1", agency="a-1", operation="create_referral", body=BODY,
         now=None):
    return run_once(store, agency_id=agency, key=key, operation=operation, body=body,
                    perform=creator, now=now)


def test_same_key_and_body_returns_the_first_response():
    store, creator = InMemoryIdempotencyStore(), Creator()
    first = call(store, creator)
    again = call(store, creator, body=json.loads(json.dumps(BODY)))
    assert creator.calls == 1
    assert again.response == first.response and again.replayed and not first.replayed


def test_key_order_in_the_body_does_not_matter():
    reordered = {"needs": {"languages": ["es"]}, "consent_id": "c-1", "participant_id": "p-1"}
    assert fingerprint("a-1", "create_referral", reordered) == fingerprint(
        "a-1", "create_referral", BODY)


@pytest.mark.parametrize("change", [{"body": {**BODY, "consent_id": "c-2"}},
                                    {"operation": "create_mentor"}])
def test_same_key_for_another_request_is_a_conflict(change):
    store, creator = InMemoryIdempotencyStore(), Creator()
    call(store, creator)
    with pytest.raises(Conflict):
        call(store, creator, **change)
    assert creator.calls == 1


def test_keys_belong_to_one_agency():
    store, creator = InMemoryIdempotencyStore(), Creator()
    call(store, creator, agency="a-1")
    assert not call(store, creator, agency="a-2").replayed
    assert creator.calls == 2


def test_a_retry_while_the_first_is_running_is_a_conflict():
    store = InMemoryIdempotencyStore()

    def impatient() -> RecordedResponse:
        with pytest.raises(Conflict):
            call(store, Creator())
        return RecordedResponse(201, "{}")

    call(store, impatient)


def test_a_failed_request_may_be_retried_with_the_same_key():
    store, creator = InMemoryIdempotencyStore(), Creator()

    def failing() -> RecordedResponse:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        call(store, failing)
    call(store, Creator(status=503))
    call(store, Creator(status=403))
    assert not call(store, creator).replayed and creator.calls == 1
    assert call(store, creator).replayed


def test_keys_expire_after_a_day():
    clock = [datetime(2026, 11, 2, tzinfo=UTC)]
    store, creator = InMemoryIdempotencyStore(clock=lambda: clock[0]), Creator()
    call(store, creator, now=clock[0])
    clock[0] += timedelta(hours=25)
    assert not call(store, creator, now=clock[0]).replayed and creator.calls == 2


def test_without_a_key_every_request_acts():
    store, creator = InMemoryIdempotencyStore(), Creator()
    call(store, creator, key=None)
    call(store, creator, key=None)
    assert creator.calls == 2


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ключ"])
def test_malformed_keys_are_refused_naming_the_header(key):
    with pytest.raises(InvalidRequest) as caught:
        call(InMemoryIdempotencyStore(), Creator(), key=key)
    assert list(caught.value.errors) == ["Idempotency-Key"]
