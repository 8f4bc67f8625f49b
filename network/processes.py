"""The whole network as real processes: `nameko run` per service and the gateway.

End-to-end tests and benchmarks drive it only through HTTP, like a clinic system
or a coordinator would, and may kill, stop and restart single processes.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROCESSES = {
    "consent": ("services/consent/config.yml", "services.consent.service"),
    "referrals": ("services/referrals/config.yml", "services.referrals.service"),
    "matching": ("services/matching/config.yml", "services.matching.service"),
    "notifications": ("services/notifications/config.yml", "services.notifications.service"),
    "engagement": ("services/engagement/config.yml", "services.engagement.service"),
    "outcomes": ("services/outcomes/config.yml", "services.outcomes.service"),
    "gateway": ("gateway/config.yml", "gateway.service"),
}
# Settings every process runs with, whoever starts it (make run, the tests, the benchmark);
# deploy/ and docker-compose.yml set the same, and tests/deploy holds them to these.
#
# EVENTLET_NO_GREENDNS=yes: eventlet's green resolver imports dnspython twice over, about 8 MB of
# every process. Without it each service sends its name lookups to eventlet's pool of real
# threads (services/kit/resolver.py), so a lookup still holds up only the green thread that asked.
NO_GREENDNS = "EVENTLET_NO_GREENDNS"
PROCESS_SETTINGS = {NO_GREENDNS: "yes"}
IDEMPOTENCY_KEY = "Idempotency-Key"
# The creating routes (gateway.routes, ``creates=True``): each needs an Idempotency-Key.
CREATING_PATHS = frozenset({"/v1/agencies", "/v1/consents", "/v1/referrals", "/v1/mentors",
                            "/v1/referrals/{id}/contacts"})
_CREATING = [re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")
             for path in CREATING_PATHS]


def is_creating(method: str, path: str) -> bool:
    """Whether ``method path`` (a concrete path, no query) is one of the creating routes."""
    return method == "POST" and any(pattern.match(path.split("?", 1)[0]) for pattern in _CREATING)


def command(name: str) -> list[str]:
    """The command line that runs process ``name`` (``nameko run --config <config> <module>``)."""
    config, module = PROCESSES[name]
    return [str(BIN / "nameko"), "run", "--config", config, module]


def environment_of(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` as a process runs with it: with ``PROCESS_SETTINGS``."""
    return {**env, **PROCESS_SETTINGS}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses right now, below the kernel's ephemeral range.

    A port the kernel hands out for ``bind(0)`` comes from the range it also gives the local end
    of every outgoing connection: between this answer and the process that binds it, a client
    connecting to the broker or the database may take it ("Address already in use"). Below the
    range only a listener can take it.
    """
    low = _ephemeral_ports_start()
    for _ in range(200):
        port = random.randint(max(1024, low - 12000), low - 1)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # everything tried was taken: the kernel's choice, then
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ephemeral_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


@dataclass
class Network:
    env: dict[str, str]
    logs: Path
    base_url: str
    running: dict[str, subprocess.Popen] = field(default_factory=dict)
    # Settings of one process only, over ``env`` (e.g. each service's own broker user).
    process_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def start(self, name: str, replica: int = 1) -> None:
        """Start process ``name``; ``replica`` 2, 3, ... run as ``<name>-<n>`` beside the first.

        Only the first replica of a service runs its timers (``TIMERS_ENABLED``), as deployed.
        """
        process = name if replica == 1 else f"{name}-{replica}"
        env = environment_of({**self.env, **self.process_env.get(name, {})})
        if replica > 1:
            env["TIMERS_ENABLED"] = "false"
        log = open(self.logs / f"{process}.log", "ab")  # noqa: SIM115 - owned by the process
        self.running[process] = subprocess.Popen(
            self.command(name, process), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def command(self, name: str, process: str) -> list[str]:
        """The command line of service ``name`` running as ``process`` (a replica's name)."""
        return command(name)

    def migrate(self) -> None:
        """``referral-network migrate``: every database at its head revision, as services require."""
        done = subprocess.run([str(BIN / "referral-network"), "migrate"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{done.stdout}{done.stderr}")

    def start_all(self, replicas: int = 1) -> None:
        """Migrate, then start the gateway and ``replicas`` processes of every service."""
        self.migrate()
        for name in PROCESSES:
            for replica in range(1, (1 if name == "gateway" else replicas) + 1):
                self.start(name, replica)
        self.wait_ready()

    def kill(self, name: str) -> None:
        """``kill -9``: no shutdown handlers run, unacked messages go back to the broker."""
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, name: str) -> None:
        self._stop([self.running.pop(name)])

    def stop_all(self) -> None:
        """Stop every process at once: each shuts down in parallel with the others."""
        processes = list(self.running.values())
        self.running.clear()
        self._stop(processes)

    @staticmethod
    def _stop(processes: list[subprocess.Popen]) -> None:
        """SIGTERM, then SIGKILL whatever has not exited 20 s later."""
        # One that exited by itself (a test reports that) has nothing left to stop.
        alive = [process for process in processes if process.poll() is None]
        for process in alive:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in alive:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def wait_ready(self, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, process in self.running.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.tail(name)}")
            try:
                last = requests.get(f"{self.base_url}/ready", timeout=5)
                if last.status_code == 200:
                    return last.json()
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"network not ready: {last.text if last is not None else 'no answer'}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def create_operator(self) -> dict:
        """The network operator agency and its key, made the way production makes it (the CLI)."""
        out = subprocess.run(
            [str(BIN / "referral-network"), "agency", "create", "--name", "Network Operations",
             "--kind", "operator", "--role", "operator"],
            cwd=ROOT, env=self.env, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)


class Client:
    """One agency's view of the API."""

    def __init__(self, base_url: str, agency: dict | None = None) -> None:
        self.base_url = base_url
        self.agency = agency or {}
        self.http = requests.Session()

    @property
    def id(self) -> str:
        return self.agency["id"]

    def request(self, method: str, path: str, body=None, *, key: str | None = None,
                headers: dict | None = None) -> requests.Response:
        """One call as this agency. A creating POST gets a fresh ``Idempotency-Key`` unless
        ``headers`` name one (``{"Idempotency-Key": None}`` sends none)."""
        headers = dict(headers or {})
        if is_creating(method, path):
            headers.setdefault(IDEMPOTENCY_KEY, str(uuid.uuid4()))
        token = key if key is not None else self.agency.get("api_key")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.base_url + path, json=body, headers=headers, timeout=30)

    def ok(self, method: str, path: str, body=None, *, attempts: int = 4, **kwargs) -> dict:
        """The JSON of a successful call. A read, or a creating POST under its one
        ``Idempotency-Key``, answered 503 is sent again after its ``Retry-After`` (at most
        ``attempts`` times), as the API asks of a client: a retry under the same key never creates
        twice. Other writes are sent once."""
        headers = dict(kwargs.pop("headers", None) or {})
        creating = is_creating(method, path)
        if creating:
            headers.setdefault(IDEMPOTENCY_KEY, str(uuid.uuid4()))
        retried = method == "GET" or (creating and headers.get(IDEMPOTENCY_KEY) is not None)
        for attempt in range(1, attempts + 1):
            response = self.request(method, path, body, headers=headers, **kwargs)
            if response.status_code != 503 or not retried or attempt == attempts:
                break
            time.sleep(min(float(response.headers.get("Retry-After") or 1), 2.0))
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()
