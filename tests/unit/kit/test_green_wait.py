"""psycopg's wait through eventlet's hub: each state the query's generator asks for is waited
for on the socket and answered with what became ready; a wait for both, or one with a
deadline, goes to psycopg's ``wait_select``; the generator's result is the wait's result.
The root conftest patches the world, as ``nameko run`` does, so the hub is eventlet's here."""

from __future__ import annotations

import socket

import pytest
from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_RW, WAIT_W

from services.kit import green_wait


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(green_wait.patcher, "is_monkey_patched", lambda name: name == "select")


@pytest.fixture
def sockets():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def query(asks, told):
    """A psycopg-like generator: yields each state of ``asks``, records what it was told."""
    for state in asks:
        told.append((yield state))
    return "result"


def test_reads_and_writes_are_waited_for_in_the_hub(patched, sockets, monkeypatch):
    ours, theirs = sockets
    theirs.sendall(b"x")  # readable at once; a socket pair is writable at once
    waited = []
    real = green_wait.trampoline
    monkeypatch.setattr(green_wait, "trampoline",
                        lambda fd, **how: waited.append((fd, how)) or real(fd, **how))
    told = []
    assert green_wait.wait_green(query([WAIT_W, WAIT_R], told), ours.fileno()) == "result"
    assert told == [READY_W, READY_R]
    assert waited == [(ours.fileno(), {"write": True}), (ours.fileno(), {"read": True})]


def test_a_wait_for_both_goes_on_in_select_from_where_it_was(patched, sockets, monkeypatch):
    ours, theirs = sockets
    theirs.sendall(b"x")
    waited = []
    monkeypatch.setattr(green_wait, "trampoline", lambda fd, **how: waited.append(how))
    told = []
    asks = query([WAIT_R, WAIT_RW, WAIT_R], told)
    assert green_wait.wait_green(asks, ours.fileno(), interval=0.1) == "result"  # psycopg's interval
    assert waited == [{"read": True}]  # the rest was select's, from the second state on
    assert told[0] == READY_R and len(told) == 3 and all(told[1:])


@pytest.mark.parametrize("how", ["a deadline", "no eventlet"])
def test_a_wait_with_a_deadline_or_without_eventlet_is_psycopgs_own(how, sockets, monkeypatch):
    ours, theirs = sockets
    theirs.sendall(b"x")
    monkeypatch.setattr(green_wait.patcher, "is_monkey_patched", lambda name: how == "a deadline")
    monkeypatch.setattr(green_wait, "trampoline", lambda *a, **k: pytest.fail("waited in the hub"))
    told = []
    timeout = 5.0 if how == "a deadline" else None
    assert green_wait.wait_green(query([WAIT_R], told), ours.fileno(), 0.1, timeout) == "result"
    assert told == [READY_R]
