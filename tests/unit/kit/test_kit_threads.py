"""``on_a_thread``: work runs on another operating-system thread, its result or error comes back
to whoever waits, and in an eventlet process the wait holds up no other green thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from services.kit.threads import on_a_thread

ROOT = Path(__file__).resolve().parents[3]


def test_the_work_runs_on_another_thread_and_its_result_comes_back():
    wait = on_a_thread(lambda: threading.get_ident())

    assert wait() != threading.get_ident()
    assert wait() == wait()  # asking again gives the same result


def test_an_error_in_the_work_is_raised_to_whoever_waits():
    def fail():
        raise ValueError("no such key")

    wait = on_a_thread(fail)

    with pytest.raises(ValueError, match="no such key"):
        wait()


GREEN = """
import eventlet
eventlet.monkey_patch()
from services.kit.threads import on_a_thread

real_threading = eventlet.patcher.original("threading")
real_time = eventlet.patcher.original("time")
ticks = []

def tick():
    for _ in range(5):
        ticks.append(1)
        eventlet.sleep(0.01)

def work():
    real_time.sleep(0.3)  # holds its own OS thread, not the hub
    return real_threading.get_ident()

eventlet.spawn(tick)
wait = on_a_thread(work)
print(wait() != real_threading.get_ident(), len(ticks))
"""


def test_in_an_eventlet_process_the_work_runs_on_a_real_thread_while_green_threads_go_on():
    out = subprocess.run([sys.executable, "-c", GREEN], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)

    assert out.stdout.split() == ["True", "5"]
