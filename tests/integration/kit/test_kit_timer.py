"""Timers run only where TIMERS_ENABLED allows, at the configured interval."""

from __future__ import annotations

import pytest
from nameko.testing.services import entrypoint_hook

from services.kit.entrypoints import Wake, every, rpc
from tests.support import settle, wait_for

ticks: list[str] = []


class Ticking:
    name = "ticking"

    @every("TICK_SECONDS", 60.0)
    def tick(self) -> None:
        ticks.append("tick")


@pytest.fixture(autouse=True)
def fresh_ticks():
    ticks.clear()


def test_timer_uses_the_configured_interval(container_factory, rabbit_config):
    container_factory(Ticking, {**rabbit_config, "TICK_SECONDS": 0.05}).start()
    wait_for(lambda: len(ticks) >= 3, timeout=5)


@pytest.mark.parametrize("flag", ["false", False, "0"])
def test_timer_stays_off_in_replicas_that_do_not_own_timers(container_factory, rabbit_config, flag):
    container_factory(Ticking, {**rabbit_config, "TICK_SECONDS": 0.05, "TIMERS_ENABLED": flag}).start()
    settle(0.4)
    assert ticks == []


class Woken:
    name = "woken"
    wake = Wake()

    @every("TICK_SECONDS", 60.0, wakeable=True)
    def tick(self) -> None:
        ticks.append("tick")
        settle(0.2)  # wakes during a tick must give one more tick, not one each

    @rpc
    def poke(self, times: int) -> None:
        for _ in range(times):
            self.wake("tick")

    @rpc
    def poke_unknown(self) -> None:
        self.wake("nothing")


@pytest.mark.parametrize("flag", ["true", "false"])
def test_a_wakeable_timer_ticks_when_woken_long_before_its_interval(container_factory, rabbit_config, flag):
    container = container_factory(Woken, {**rabbit_config, "TIMERS_ENABLED": flag})
    container.start()
    settle(0.3)
    assert ticks == []
    with entrypoint_hook(container, "poke") as poke:
        poke(1)
    wait_for(lambda: len(ticks) == 1, timeout=5)
    settle(0.05)  # inside the first tick now
    with entrypoint_hook(container, "poke") as poke:
        poke(1)
    wait_for(lambda: len(ticks) == 2, timeout=5)
    with entrypoint_hook(container, "poke") as poke:
        poke(5)  # five wakes while the third tick is due: they coalesce
    settle(0.8)
    assert len(ticks) in (3, 4)
    with entrypoint_hook(container, "poke_unknown") as poke_unknown, pytest.raises(LookupError):
        poke_unknown()
