"""One real network for a test session: its own RabbitMQ vhost, a database per process, five
processes, and the agencies every suite starts from.

The databases are the caller's choice (``database_url(process name)``): the end-to-end suite gives
each process a throwaway PostgreSQL database, the contract suite runs once on SQLite files and
once on PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from network import secrets as network_secrets
from network.processes import PROCESSES, Client, Network, free_port

# label → (name, kind, roles): every kind of agency the network knows, two peer groups.
AGENCIES = {
    "hospital": ("St. Mary Hospital", "hospital", ["referrer"]),
    "clinic": ("Eastside Clinic", "clinic", ["referrer", "admin"]),
    "sober_living": ("Harbor Sober Living", "sober_living", ["referrer"]),
    "peers_a": ("Bridge Peer Recovery", "peer_group", ["coordinator"]),
    "peers_b": ("Comunidad en Recuperación", "peer_group", ["coordinator"]),
}


def network_environment(amqp_uri: str, port: int) -> dict[str, str]:
    """The environment every process of a test network runs with (fresh secrets, short timeouts)."""
    return {
        **os.environ,
        "AMQP_URI": amqp_uri,
        "GATEWAY_PORT": str(port),
        **network_secrets.fresh(),
        "RPC_TIMEOUT_SECONDS": "3",
        # Inner timeouts shorter than the gateway's deadline, as in the defaults (5 and 3).
        "CONSENT_RPC_TIMEOUT_SECONDS": "2",
        # Small, so a test's few rows already reach the checkpoint log outside the database.
        "LEDGER_CHECKPOINT_EVERY": "5",
        "DISPATCH_INTERVAL_SECONDS": "0.2",
        "HEARTBEAT_CHECK_SECONDS": "0.5",
        # The tests' webhook receivers listen on 127.0.0.1 over plain HTTP.
        "WEBHOOK_REQUIRE_HTTPS": "false",
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        # Fuzzing sends hundreds of requests a second as one agency; the limit has its own tests.
        "RATE_LIMIT_PER_SECOND": "10000",
        "RATE_LIMIT_BURST": "10000",
        "PERSON_RATE_LIMIT_PER_SECOND": "10000",
        "PERSON_RATE_LIMIT_BURST": "10000",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def running_network(amqp: str, rabbit_manager, database_url: Callable[[str], str], logs: Path,
                    vhost_prefix: str = "rn_e2e", *, replicas: int = 1,
                    settings: Mapping[str, str] | None = None,
                    process_settings: Callable[[str, str], Mapping[str, Mapping[str, str]]] | None = None,
                    ) -> Iterator[Network]:
    """Start every process on a fresh vhost of ``amqp``; stop them and drop the vhost after.

    ``replicas`` processes of every service share its queues and database (PostgreSQL only);
    ``settings`` are extra environment variables for every process; ``process_settings(vhost,
    amqp uri)``, called once the vhost exists, those of each process by name. Raises ``RuntimeError``
    (with the log tail) when a process exits or the gateway never reports ready.
    """
    vhost = f"{vhost_prefix}_{uuid.uuid4().hex[:10]}"
    rabbit_manager.create_vhost(vhost)
    parts = urlsplit(amqp)
    rabbit_manager.set_vhost_permissions(vhost, parts.username, ".*", ".*", ".*")
    port = free_port()
    env = network_environment(urlunsplit((parts.scheme, parts.netloc, f"/{vhost}", "", "")), port)
    env["LEDGER_CHECKPOINT_LOG"] = str(logs / "ledger-checkpoints.jsonl")
    env.update(settings or {})
    for name in PROCESSES:
        env[f"{name.upper()}_DATABASE_URL"] = database_url(name)
    net = Network(env=env, logs=logs, base_url=f"http://127.0.0.1:{port}")
    if process_settings is not None:
        net.process_env = {name: dict(values) for name, values in
                           process_settings(vhost, env["AMQP_URI"]).items()}
    try:
        net.start_all(replicas)
        yield net
    finally:
        net.stop_all()
        rabbit_manager.delete_vhost(vhost)


def register_agencies(network: Network, operator: Client) -> dict[str, Client]:
    """Each agency of ``AGENCIES``, registered by the network ``operator`` and holding its own key."""
    return {
        label: Client(network.base_url, operator.ok("POST", "/v1/agencies",
                                                  {"name": name, "kind": kind, "roles": roles}))
        for label, (name, kind, roles) in AGENCIES.items()
    }


def log_tails(network: Network, lines: int = 60) -> str:
    """The last lines of every process's log, to attach to a failed test's report."""
    return "\n".join(f"--- {name} ---\n{network.tail(name, lines)}" for name in PROCESSES)
