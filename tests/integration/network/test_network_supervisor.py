"""`make run`'s supervisor on real processes: a killed process comes back, a crash loop backs off."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from network.supervisor import Supervisor

pytestmark = pytest.mark.fault
SLEEPER = [sys.executable, "-c", "import os, time; print('up', os.getpid(), flush=True); time.sleep(120)"]


def wait_for(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def lines():
    return []


def supervise(commands, lines, **options) -> Supervisor:
    supervisor = Supervisor(commands, env=dict(os.environ), cwd=os.getcwd(), emit=lines.append, **options)
    supervisor.start()
    return supervisor


def test_a_killed_process_is_started_again_and_the_others_keep_running(lines):
    supervisor = supervise({"consent": SLEEPER, "gateway": SLEEPER}, lines, backoff_start=0.1)
    try:
        wait_for(lambda: supervisor.pid("consent") and supervisor.pid("gateway"), "both to start")
        killed, untouched = supervisor.pid("consent"), supervisor.pid("gateway")
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: supervisor.pid("consent") not in (None, killed), "consent to come back")
        wait_for(lambda: any(line.startswith("consent") and "up" in line and str(killed) not in line
                             for line in lines), "the new consent's output")
        assert supervisor.pid("gateway") == untouched
        assert supervisor.restarts("consent") == 1 and supervisor.restarts("gateway") == 0
        notes = [line for line in lines if line.startswith("supervisor")]
        assert any("consent exited with code -9" in note and "restart 1" in note for note in notes), notes
        assert any("consent started again" in note for note in notes), notes
    finally:
        supervisor.stop()
    assert supervisor.pid("consent") is None and supervisor.pid("gateway") is None


def test_a_process_that_keeps_crashing_is_restarted_with_doubling_delays(lines):
    crashing = [sys.executable, "-c", "raise SystemExit(3)"]
    supervisor = supervise({"matching": crashing}, lines, backoff_start=0.1, backoff_max=0.4)
    try:
        wait_for(lambda: supervisor.restarts("matching") >= 4, "four restarts")
    finally:
        supervisor.stop()
    delays = [line.split(" in ")[-1] for line in lines if "exited with code 3" in line]
    assert delays[:4] == ["0.1 s", "0.2 s", "0.4 s", "0.4 s"]


def test_stop_ends_every_process_and_nothing_is_restarted_after(lines):
    supervisor = supervise({"referrals": SLEEPER}, lines, backoff_start=0.1)
    wait_for(lambda: supervisor.pid("referrals"), "referrals to start")
    pid = supervisor.pid("referrals")
    supervisor.stop()
    time.sleep(0.5)
    assert supervisor.pid("referrals") is None and supervisor.restarts("referrals") == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
