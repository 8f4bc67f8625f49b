"""Small helpers shared by tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import eventlet

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        eventlet.sleep(interval)


def settle(seconds: float) -> None:
    """Let background greenthreads run (used to prove that something does NOT happen)."""
    eventlet.sleep(seconds)
