import time

import eventlet
import pytest

from services.kit.entrypoints import CALLER_DEADLINE, caller_gave_up
from services.kit.errors import ServiceUnavailable
from services.kit.rpc import _TimedService


class _Reply:
    def __init__(self, seconds: float, value: str) -> None:
        self.seconds, self.value = seconds, value

    def result(self) -> str:
        eventlet.sleep(self.seconds)
        return self.value


class _Publisher:
    """Like nameko's ``Publisher``: headers given to ``publish`` travel with the message."""

    expiration = None

    def __init__(self) -> None:
        self.headers: dict = {}

    def publish(self, payload, headers=None, **kwargs) -> None:
        self.headers = dict(headers or {})


class _Method:
    """Like nameko's ``MethodProxy``: a fresh one per attribute access, with its own publisher."""

    def __init__(self, seconds: float, name: str, sent: list) -> None:
        self.seconds, self.name, self.sent = seconds, name, sent
        self.publisher = _Publisher()

    def call_async(self, *args, **kwargs) -> _Reply:
        self.publisher.publish({"args": args, "kwargs": kwargs})
        self.sent.append((self.name, self.publisher.expiration))
        self.headers = self.publisher.headers
        return _Reply(self.seconds, self.name)


class _Proxy:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[tuple[str, float | None]] = []

    def __getattr__(self, method: str) -> _Method:
        self.last = _Method(self.seconds, method, self.sent)
        return self.last


def test_a_call_that_gets_no_answer_gives_up_with_service_unavailable():
    with pytest.raises(ServiceUnavailable, match="consent"):
        _TimedService(_Proxy(seconds=5), "consent", timeout=0.05).authorize(discloser="a")


def test_an_answer_within_the_deadline_comes_through_and_per_call_timeouts_apply():
    assert _TimedService(_Proxy(seconds=0.01), "consent", timeout=1).authorize() == "authorize"
    with pytest.raises(ServiceUnavailable):
        _TimedService(_Proxy(seconds=0.2), "consent", timeout=5).ping(timeout=0.05)


def test_each_request_expires_in_the_broker_when_its_caller_gives_up():
    proxy = _Proxy(seconds=0.01)
    service = _TimedService(proxy, "consent", timeout=3)
    service.authorize()
    service.ping(timeout=0.5)
    assert proxy.sent == [("authorize", 3), ("ping", 0.5)]


def test_each_request_carries_its_callers_deadline_as_an_absolute_time():
    proxy = _Proxy(seconds=0.01)
    before = time.time()
    _TimedService(proxy, "consent", timeout=3).authorize()
    deadline = proxy.last.headers[CALLER_DEADLINE]
    assert before + 3 <= deadline <= time.time() + 3


def test_a_request_past_its_callers_deadline_is_refused_and_one_without_a_deadline_runs():
    now = 1_000.0
    assert caller_gave_up({CALLER_DEADLINE: now - 0.1}, now=now)
    assert not caller_gave_up({CALLER_DEADLINE: now + 0.1}, now=now)
    assert not caller_gave_up({}, now=now)
    assert not caller_gave_up(None, now=now)
    assert not caller_gave_up({CALLER_DEADLINE: "soon"}, now=now)  # unreadable: do the work
