"""What a benchmark run owns: a fresh RabbitMQ vhost, fresh PostgreSQL databases (on a private
server, see ``bench/postgres.py``), and the product network started on them once, shared by the
sections that drive it.

Everything is created under names of its own (``rn_bench_<run>``) so engineers running tests
on the same broker and server are not disturbed, and everything is removed by ``close``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from nameko.testing.rabbit import Client as RabbitAdmin

from bench import proc
from bench.postgres import PrivatePostgres
from network import secrets as network_secrets
from network.processes import PROCESSES, Network, free_port

RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@localhost:15672")
AMQP_BASE = os.environ.get("BENCH_AMQP_URI", "pyamqp://guest:guest@localhost:5672")
# Seconds the network is left alone after start before its idle memory is read.
IDLE_SETTLE_SECONDS = 3.0






@dataclass
class BenchContext:
    """Resources of one run. Use as a context manager; ``close`` removes everything."""

    smoke: bool
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rn-bench-")))
    databases: list[str] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)  # figures one section leaves for another
    postgres_admin: str = ""
    _rabbit: RabbitAdmin | None = None
    _postgres: PrivatePostgres | None = None
    _network: Network | None = None
    _start_with: dict[str, str] | None = None  # stopped until used: start again with this
    _closers: list[Callable[[], None]] = field(default_factory=list)
    failed: bool = False

    @property
    def vhost(self) -> str:
        return f"rn_bench_{self.run_id}"

    @property
    def amqp_uri(self) -> str:
        parts = urlsplit(AMQP_BASE)
        return urlunsplit((parts.scheme, parts.netloc, f"/{self.vhost}", "", ""))

    def __enter__(self) -> BenchContext:
        try:
            self.postgres_admin = os.environ.get("BENCH_POSTGRES_URL", "")
            if not self.postgres_admin:
                self._postgres = PrivatePostgres(free_port())
                self.postgres_admin = self._postgres.__enter__()
            self._rabbit = RabbitAdmin(RABBIT_API)
            self._rabbit.create_vhost(self.vhost)
            self._rabbit.set_vhost_permissions(self.vhost, urlsplit(AMQP_BASE).username, ".*", ".*", ".*")
        except BaseException:
            self.failed = True
            self.close()
            raise
        return self

    def cpu(self, named: dict[str, int]) -> dict[str, float]:
        """CPU seconds so far of the named processes, this process, the database server (all of
        it when private, else the backends serving this run) and the broker."""
        snapshot = proc.cpu_snapshot(named, None if self._postgres else f"rn_bench_{self.run_id}")
        if self._postgres is not None:
            snapshot["postgresql"] = proc.cpu_seconds(self._postgres.pid())
        return snapshot

    def __exit__(self, exc_type, *_exc) -> None:
        self.failed = self.failed or exc_type is not None
        self.close()

    def database(self, label: str) -> str:
        """A new empty PostgreSQL database; its SQLAlchemy URL."""
        name = f"rn_bench_{self.run_id}_{label}"
        with psycopg.connect(self.postgres_admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        parts = urlsplit(self.postgres_admin)
        return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))

    # -- the product network ------------------------------------------------------------------

    def network_env(self, port: int, database: Callable[[str], str] | None = None) -> dict[str, str]:
        """The environment of the product's processes, as a deployment on this machine has it;
        ``database(process)`` gives each its database URL (default: a new PostgreSQL database)."""
        env = {
            **os.environ,
            "AMQP_URI": self.amqp_uri, "GATEWAY_PORT": str(port),
            **network_secrets.fresh(),
            # Webhooks go to the benchmark's receiver on 127.0.0.1 over plain HTTP. Dispatch and
            # escalation keep their deployed 5 s sweeps: a planned delivery wakes the dispatcher.
            "WEBHOOK_REQUIRE_HTTPS": "false", "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "INFO",
            # The benchmark measures capacity, not the per-agency bound against runaway clients.
            "RATE_LIMIT_PER_SECOND": "100000", "RATE_LIMIT_BURST": "100000",
            "PYTHONUNBUFFERED": "1",
            # Each run its own ledger, so its own log of the ledger's checkpoints.
            "LEDGER_CHECKPOINT_LOG": str(self.logs / "ledger-checkpoints.jsonl"),
        }
        for name in PROCESSES:
            env[f"{name.upper()}_DATABASE_URL"] = (database or self.database)(name)
        return env

    def network(self) -> Network:
        """The product network, started on first use; its idle memory is read right after."""
        if self._network is None:
            port = free_port()
            net = Network(env=self.network_env(port), logs=self.logs, base_url=f"http://127.0.0.1:{port}")
            self._network = net
            net.start_all()
            time.sleep(IDLE_SETTLE_SECONDS)
            self.shared["idle_rss_mb"] = self.rss(net)
            self.shared["idle_pss_mb"] = self.pss(net)
        elif self._start_with is not None:
            self.restart_network()
        return self._network

    def restart_network(self, network_class: type[Network] = Network,
                        env: dict[str, str] | None = None) -> Network:
        """Stop the product's processes and start them again, as ``network_class`` starts
        them, on the same databases, broker and secrets (``env``: the environment instead)."""
        if self._network is None:
            self.network()
        old = self._network
        if self._start_with is None:
            old.stop_all()
        start_with, self._start_with = env or self._start_with or old.env, None
        self._network = network_class(env=start_with, logs=self.logs, base_url=old.base_url)
        self._network.start_all()
        return self._network

    def stop_network_until_used(self, env: dict[str, str]) -> None:
        """Stop the product's processes; the next section that uses the network starts them
        again with ``env`` (a section that restarts them its own way starts them only once)."""
        if self._network is not None and self._start_with is None:
            self._network.stop_all()
        self._start_with = env

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the run ends, before the processes stop."""
        self._closers.append(closer)

    @staticmethod
    def rss(net: Network) -> dict[str, float]:
        return {name: proc.rss_mb(p.pid) for name, p in net.running.items()}

    @staticmethod
    def pss(net: Network) -> dict[str, float]:
        return {name: proc.pss_mb(p.pid) for name, p in net.running.items()}

    def stop_network(self) -> None:
        if self._network is not None and self._start_with is None:
            self._network.stop_all()
        self._network, self._start_with = None, None

    # -- clean-up -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop processes, drop databases, delete the vhost; keep the logs only after a failure."""
        try:
            while self._closers:
                self._closers.pop()()
            self.stop_network()
        finally:
            self._drop_databases()
            if self._postgres is not None:
                self._postgres.__exit__(None, None, None)
                self._postgres = None
            if self._rabbit is not None:
                self._rabbit.delete_vhost(self.vhost)
                self._rabbit = None
            if self.failed:
                print(f"bench: process logs kept in {self.logs}")
            else:
                shutil.rmtree(self.logs, ignore_errors=True)

    def _drop_databases(self) -> None:
        if not self.databases:
            return
        with psycopg.connect(self.postgres_admin, autocommit=True) as conn:
            for name in self.databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.databases.clear()
