"""Every process runs without eventlet's green resolver (``EVENTLET_NO_GREENDNS``), as every
launcher starts it, and sends its name lookups to real threads (``services/kit/resolver.py``), so
a slow lookup holds up only the green thread that asked. deploy/ and docker-compose.yml are held to
the same settings by tests/deploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from network import processes
from network.processes import NO_GREENDNS, PROCESS_SETTINGS, PROCESSES, Network, environment_of

# What the process looks like once ``nameko run`` has patched the world and imported its service.
PROBE = """
import eventlet
eventlet.monkey_patch()
import importlib, json, socket, sys
from eventlet.green import socket as green_socket
importlib.import_module(sys.argv[1])
print(json.dumps({"resolver": socket.getaddrinfo.__module__,
                  "green_resolver": green_socket.getaddrinfo.__module__,
                  "dnspython": "dns" in sys.modules}))
"""
# A lookup that takes 0.3 s, asked while a green thread ticks every 10 ms: the ticks go on.
SLOW_LOOKUP = """
import eventlet
eventlet.monkey_patch()
import socket
from services.kit.resolver import resolve_on_threads
real_time = eventlet.patcher.original("time")

def slow(*args, **kwargs):
    real_time.sleep(0.3)  # a DNS server taking its time: this OS thread waits
    return [("answer",)]

socket.getaddrinfo = slow
assert resolve_on_threads()
ticks = []

def tick():
    for _ in range(5):
        ticks.append(1)
        eventlet.sleep(0.01)

eventlet.spawn(tick)
eventlet.sleep(0)
answer = socket.getaddrinfo("slow.example", 443)
print(answer == [("answer",)], len(ticks))
"""


def test_every_process_has_the_settings_even_over_its_starting_environment():
    for inherited in ({}, {NO_GREENDNS: "no"}):
        env = environment_of({"AMQP_URI": "pyamqp://x", **inherited})
        assert env["AMQP_URI"] == "pyamqp://x"
        assert env[NO_GREENDNS] == "yes"
    assert PROCESS_SETTINGS == {NO_GREENDNS: "yes"}


def test_the_network_launcher_starts_each_process_with_the_settings(tmp_path, monkeypatch):
    started: dict[str, dict[str, str]] = {}

    class Recorded:
        def __init__(self, command, *, env, **_options):
            started[command[-1]] = env

    monkeypatch.setattr(processes.subprocess, "Popen", Recorded)
    net = Network(env={NO_GREENDNS: "no", "LOG_LEVEL": "INFO"}, logs=tmp_path, base_url="http://x",
                  process_env={"notifications": {NO_GREENDNS: "no"}})
    for name in PROCESSES:
        net.start(name)
    net.start("consent", replica=2)
    assert set(started) == {module for _config, module in PROCESSES.values()}
    assert all(env[NO_GREENDNS] == "yes" and env["LOG_LEVEL"] == "INFO" for env in started.values())


def test_make_run_gives_the_supervisor_the_settings(tmp_path, monkeypatch):
    from network import run

    given = {}

    class Stop(Exception):
        pass

    class Recorded:
        def __init__(self, commands, *, env, cwd):
            given.update(env)
            raise Stop

    class Prepared:
        returncode = 0

        def __init__(self, *_args, **_kwargs):
            pass

        def wait(self):
            return 0

    monkeypatch.setattr(run, "Supervisor", Recorded)
    monkeypatch.setattr(run.subprocess, "Popen", Prepared)
    monkeypatch.setattr(run, "VAR", tmp_path)
    monkeypatch.setattr(run, "port_in_use", lambda _port: False)
    monkeypatch.setattr(run, "environment", lambda _args: {"PATH": "/bin"})
    with pytest.raises(Stop):
        run.main(["--no-demo"])
    assert given == {"PATH": "/bin", NO_GREENDNS: "yes"}


@pytest.mark.parametrize("name", PROCESSES)
def test_a_started_process_resolves_on_threads_without_dnspython(name):
    """In the process as launched: the socket module's lookups and the ones eventlet's
    ``create_connection`` calls are the threaded ones, and dnspython was never imported."""
    probe = [sys.executable, "-W", "ignore", "-c", PROBE, PROCESSES[name][1]]
    done = subprocess.run(probe, cwd=Path(processes.ROOT), env=environment_of(os.environ),
                          capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {"resolver": "services.kit.resolver", "green_resolver": "services.kit.resolver",
                    "dnspython": False}


def test_a_slow_lookup_holds_up_only_the_green_thread_that_asked():
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", SLOW_LOOKUP], cwd=Path(processes.ROOT),
                          env={**environment_of(os.environ), "PYTHONPATH": str(processes.ROOT)},
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["True", "5"]
