"""psycopg's wait for its socket, done by eventlet's hub directly.

psycopg runs every query as a generator that says when it needs the socket readable or
writable; its ``wait`` function does the waiting. ``wait_select`` (which the kit names in
``PSYCOPG_WAIT_FUNC`` so that psycopg never blocks the hub in C) calls ``select.select``, which
eventlet's green ``select`` turns into a listener, a timer for its timeout, a switch to the hub
and back, and the listener's and timer's removal: on every round trip to the database, in every
process. ``wait_green`` asks the hub for the one thing psycopg waits for (``trampoline``): no
timer, no select wrapper. A wait with a deadline (psycopg's query cancellation), one for reading
and writing at once, and a process that eventlet has not patched keep ``wait_select``.

A unit of work's own deadline still applies: its ``eventlet.Timeout`` is raised in the waiting
greenthread as before, and SQLAlchemy drops the connection that was cut off.
"""

from __future__ import annotations

from eventlet import patcher
from eventlet.hubs import trampoline
from psycopg import waiting
from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_W

_select = waiting.wait_select


def wait_green(gen, fileno: int, interval: float = 0.0, timeout: float | None = None):
    """psycopg's ``WaitFunc``: run ``gen`` to completion, waiting on ``fileno`` in the hub."""
    if timeout is not None or not patcher.is_monkey_patched("select"):
        return _select(gen, fileno, interval, timeout)
    try:
        state = next(gen)
        while True:
            if state == WAIT_R:
                trampoline(fileno, read=True)
                state = gen.send(READY_R)
            elif state == WAIT_W:
                trampoline(fileno, write=True)
                state = gen.send(READY_W)
            else:  # both at once: rare (a large query being sent), left to select
                return _select(_resumed(gen, state), fileno, interval, timeout)
    except StopIteration as done:
        return done.value


def _resumed(gen, state):
    """``gen`` as if it had not yet yielded ``state``: for handing it on mid-way."""
    ready = yield state
    while True:
        try:
            state = gen.send(ready)
        except StopIteration as done:
            return done.value
        ready = yield state


def install() -> None:
    """Make ``wait_green`` psycopg's wait for every connection's queries."""
    waiting.wait = wait_green
