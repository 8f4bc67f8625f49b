"""Which processes run without eventlet's green resolver (``EVENTLET_NO_GREENDNS``), as every
launcher starts them: only those whose one outside contact is their broker and their database.
deploy/ and docker-compose.yml are held to the same list by tests/deploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from network import processes
from network.processes import NO_GREENDNS, PROCESSES, SYSTEM_RESOLVER, Network, environment_of

# Clients of hosts other than the broker and the database: a process that loads one of them
# resolves names while it serves, and a lookup must not stop its other green threads.
OUTBOUND_CLIENTS = ("requests", "urllib3", "http.client", "urllib.request", "smtplib", "httpx",
                    "aiohttp", "ftplib", "imaplib", "poplib", "xmlrpc.client")
# What the process looks like once ``nameko run`` has patched the world and imported its service.
PROBE = """
import eventlet
eventlet.monkey_patch()
import importlib, json, socket, sys
importlib.import_module(sys.argv[1])
print(json.dumps({"resolver": socket.getaddrinfo.__module__,
                  "clients": sorted(m for m in sys.argv[2:] if m in sys.modules)}))
"""


def test_only_the_services_of_broker_and_database_alone_use_the_system_resolver():
    assert SYSTEM_RESOLVER == {"consent", "referrals", "matching", "outcomes"}
    assert SYSTEM_RESOLVER <= set(PROCESSES)


@pytest.mark.parametrize("inherited", [{}, {NO_GREENDNS: "yes"}])
@pytest.mark.parametrize("name", PROCESSES)
def test_the_environment_of_each_process_has_the_setting_exactly_when_it_should(name, inherited):
    env = environment_of(name, {"AMQP_URI": "pyamqp://x", **inherited})
    assert env["AMQP_URI"] == "pyamqp://x"
    if name in SYSTEM_RESOLVER:
        assert env[NO_GREENDNS] == "yes"
    else:
        # Not even from the shell that started the network.
        assert NO_GREENDNS not in env


def test_the_network_launcher_starts_each_process_with_its_own_environment(tmp_path, monkeypatch):
    started: dict[str, dict[str, str]] = {}

    class Recorded:
        def __init__(self, command, *, env, **_options):
            started[command[-1]] = env

    monkeypatch.setattr(processes.subprocess, "Popen", Recorded)
    net = Network(env={NO_GREENDNS: "yes", "LOG_LEVEL": "INFO"}, logs=tmp_path, base_url="http://x",
                  process_env={"notifications": {NO_GREENDNS: "yes"}})
    for name in PROCESSES:
        net.start(name)
    net.start("consent", replica=2)
    with_setting = {module for module, env in started.items() if env.get(NO_GREENDNS) == "yes"}
    assert with_setting == {PROCESSES[name][1] for name in SYSTEM_RESOLVER}
    assert all(env["LOG_LEVEL"] == "INFO" for env in started.values())


def test_make_run_gives_the_supervisor_each_process_environment(tmp_path, monkeypatch):
    from network import run

    given = {}

    class Stop(Exception):
        pass

    class Recorded:
        def __init__(self, commands, *, env, cwd, environments):
            given.update(environments)
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
    monkeypatch.setattr(run, "environment", lambda _args: {NO_GREENDNS: "yes", "PATH": "/bin"})
    with pytest.raises(Stop):
        run.main(["--no-demo"])
    assert set(given) == set(PROCESSES)
    assert {name for name, env in given.items() if env.get(NO_GREENDNS) == "yes"} == SYSTEM_RESOLVER


@pytest.mark.parametrize("name", PROCESSES)
def test_a_started_process_resolves_greenly_unless_it_contacts_only_broker_and_database(name):
    """In the process as launched: the resolver eventlet installed, and the outbound clients its
    service loads. A process with the system's resolver loads none of them; one that loads any
    keeps the green resolver. Adding notifications to SYSTEM_RESOLVER fails here."""
    env = environment_of(name, os.environ)
    probe = [sys.executable, "-W", "ignore", "-c", PROBE, PROCESSES[name][1], *OUTBOUND_CLIENTS]
    done = subprocess.run(probe, cwd=Path(processes.ROOT), env=env, capture_output=True, text=True,
                          check=True)
    seen = json.loads(done.stdout.splitlines()[-1])
    if name in SYSTEM_RESOLVER:
        assert seen["resolver"] == "socket"
        assert seen["clients"] == [], f"{name} reaches other hosts ({seen['clients']}): keep greendns"
    else:
        assert seen["resolver"] == "eventlet.support.greendns"
        assert seen["clients"], f"{name} loads no outbound client: could it use the system resolver?"
