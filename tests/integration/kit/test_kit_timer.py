"""Timers run only where TIMERS_ENABLED allows, at the configured interval."""

from __future__ import annotations

import pytest

from services.kit.entrypoints import every
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
