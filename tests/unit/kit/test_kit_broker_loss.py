"""A lost broker connection costs a reply or an acknowledgement, never the process."""

from __future__ import annotations

import logging

import pytest
from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError

from services.kit.broker import SurvivingQueueConsumer
from services.kit.errors import ServiceUnavailable
from services.kit.rpc import _TimedService


def _publish(self, payload, **kwargs) -> None:
    raise OperationalError("[Errno 111] Connection refused")


class _Unpublishable:
    def __getattr__(self, method: str):
        def call_async(*args, **kwargs):
            raise OperationalError("[Errno 111] Connection refused")
        return type("Method", (), {"call_async": staticmethod(call_async),
                                   "publisher": type("Publisher", (), {"publish": _publish})()})()


def test_a_call_without_a_broker_is_service_unavailable_not_a_crash():
    with pytest.raises(ServiceUnavailable, match="referrals service cannot be reached"):
        _TimedService(_Unpublishable(), "referrals", timeout=1).create({}, {})


class _Channel:
    def __init__(self, alive: bool) -> None:
        self.connection = object() if alive else None


class _Message:
    def __init__(self, failure: BaseException | None, alive: bool = True) -> None:
        self.channel = _Channel(alive)
        self.failure = failure
        self.settled: list[str] = []

    def ack(self) -> None:
        if self.failure:
            raise self.failure
        self.settled.append("ack")

    def requeue(self) -> None:
        if self.failure:
            raise self.failure
        self.settled.append("requeue")


@pytest.mark.parametrize("failure", [ConnectionResetError(104, "Connection reset by peer"),
                                     RecoverableConnectionError("connection already closed"),
                                     BrokenPipeError(32, "Broken pipe")])
def test_an_ack_or_requeue_lost_with_its_connection_is_left_to_redelivery(failure, caplog):
    consumer = SurvivingQueueConsumer()
    with caplog.at_level(logging.WARNING, logger="services.kit.broker"):
        consumer.ack_message(_Message(failure))
        consumer.requeue_message(_Message(failure))
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "could not acknowledge a message", "could not requeue a message"]
    assert all("deliver it again" in r.getMessage() for r in caplog.records)


def test_a_live_connection_settles_messages_and_a_closed_one_is_skipped_quietly(caplog):
    consumer = SurvivingQueueConsumer()
    live, closed = _Message(None), _Message(ConnectionResetError(), alive=False)
    with caplog.at_level(logging.WARNING):
        consumer.ack_message(live)
        consumer.requeue_message(live)
        consumer.ack_message(closed)
    assert live.settled == ["ack", "requeue"] and caplog.records == []
