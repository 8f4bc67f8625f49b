"""An RPC request taken off the queue but still waiting for a worker is not run once its
caller's deadline has passed.

The broker's expiry covers a request waiting in the queue; this covers the one the service has
already received: its only worker is busy (with work that came by another way than the RPC
queue, so the request is delivered at once), and by the time the worker is free the caller has
answered 503. The request is acknowledged and dropped, unrun and unanswered.
"""

from __future__ import annotations

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook

from services.kit.entrypoints import rpc
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
def services(container_factory, rabbit_config):

    DONE.clear()
    referrals = container_factory(Referrals, {**rabbit_config, "max_workers": 1})
    referrals.start()
    container_factory(Gateway, rabbit_config).start()
    with service_proxy("gateway", rabbit_config, timeout=30) as gateway:
        yield referrals, gateway


def test_a_request_waiting_for_a_busy_worker_past_its_callers_deadline_never_runs(services):
    referrals, gateway = services
    with entrypoint_hook(referrals, "create") as create_directly:
        busy = eventlet.spawn(create_directly, "busy", 1.5)  # holds the one worker, no RPC unacked
        eventlet.sleep(0.2)
        with pytest.raises(ServiceUnavailable):
            gateway.create("late", 0, 0.3)  # delivered at once, then waits for the worker
        assert busy.wait() == "busy"
    assert gateway.create("after", 0, 5) == "after"
    assert DONE == ["busy", "after"]  # "late" was refused when the worker came free
