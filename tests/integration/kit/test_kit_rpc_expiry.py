"""An RPC request whose caller gave up is never executed: it expires in the broker unconsumed.

The service has one worker, busy with a slow call; a second call waits in the queue, its caller
stops waiting after its deadline, and when the worker is free the broker has dropped the request.
"""

from __future__ import annotations

import eventlet
import pytest
from nameko.rpc import rpc

from services.kit.errors import ServiceUnavailable
from services.kit.rpc import ServiceClient
from tests.support import service_proxy

DONE: list[str] = []


class Referrals:
    name = "referrals"

    @rpc
    def create(self, label: str, seconds: float) -> str:
        eventlet.sleep(seconds)
        DONE.append(label)
        return label


class Gateway:
    name = "gateway"
    referrals = ServiceClient("referrals")

    @rpc
    def create(self, label: str, seconds: float, timeout: float) -> str:
        return self.referrals.create(label, seconds, timeout=timeout)


@pytest.fixture
def gateway(container_factory, rabbit_config):

    DONE.clear()
    container_factory(Referrals, {**rabbit_config, "max_workers": 1}).start()
    container_factory(Gateway, rabbit_config).start()
    with service_proxy("gateway", rabbit_config, timeout=30) as proxy:
        yield proxy


def test_a_request_queued_past_its_callers_deadline_is_never_run(gateway):
    slow = gateway.create.call_async("slow", 1.5, 5)
    eventlet.sleep(0.2)  # the one worker is busy with "slow"; "late" waits in the queue
    with pytest.raises(ServiceUnavailable):
        gateway.create("late", 0, 0.3)
    assert slow.result() == "slow"
    assert gateway.create("after", 0, 5) == "after"
    assert DONE == ["slow", "after"]  # "late" expired in the broker: never executed
