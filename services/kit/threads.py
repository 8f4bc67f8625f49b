"""Work that releases the GIL (signature checks, hashing large inputs), run on an operating-system
thread beside the caller, so a second core can share it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def on_a_thread(work: Callable[[], T]) -> Callable[[], T]:
    """Start ``work`` on an OS thread now; return what waits for its result and raises what it
    raised. In a process eventlet patched, ``work`` runs on eventlet's pool of real threads and
    the wait blocks only the calling green thread."""
    if eventlet_patched("thread"):
        import eventlet
        from eventlet import tpool

        pending = eventlet.spawn(tpool.execute, work)
        eventlet.sleep(0)  # let it hand ``work`` to the pool before the caller carries on
        return pending.wait
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to whoever waits
            outcome["error"] = error

    thread = threading.Thread(target=run, name="beside", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["value"]  # type: ignore[return-value]
    return result


def eventlet_patched(module: str) -> bool:
    """Whether eventlet has patched ``module`` ("thread", "socket", ...) in this process; False
    where eventlet was never imported (a command line, a test)."""
    patcher = sys.modules.get("eventlet.patcher")
    return patcher is not None and patcher.is_monkey_patched(module)
