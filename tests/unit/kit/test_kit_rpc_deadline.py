import eventlet
import pytest

from services.kit.errors import ServiceUnavailable
from services.kit.rpc import _TimedService


class _Reply:
    def __init__(self, seconds: float, value: str) -> None:
        self.seconds, self.value = seconds, value

    def result(self) -> str:
        eventlet.sleep(self.seconds)
        return self.value


class _Proxy:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __getattr__(self, method: str):
        outer = self
        return type("Method", (), {"call_async": lambda self, *a, **k: _Reply(outer.seconds, method)})()


def test_a_call_that_gets_no_answer_gives_up_with_service_unavailable():
    with pytest.raises(ServiceUnavailable, match="consent"):
        _TimedService(_Proxy(seconds=5), "consent", timeout=0.05).authorize(discloser="a")


def test_an_answer_within_the_deadline_comes_through_and_per_call_timeouts_apply():
    assert _TimedService(_Proxy(seconds=0.01), "consent", timeout=1).authorize() == "authorize"
    with pytest.raises(ServiceUnavailable):
        _TimedService(_Proxy(seconds=0.2), "consent", timeout=5).ping(timeout=0.05)
