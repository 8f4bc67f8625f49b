"""One real network per test session: RabbitMQ vhost, PostgreSQL databases, five processes."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from network import secrets as network_secrets
from network.processes import PROCESSES, Client, Network, free_port


@pytest.fixture(scope="session")
def network(request, rabbit_manager, postgres_databases, tmp_path_factory):
    amqp = request.config.getoption("RABBIT_AMQP_URI")
    vhost = f"rn_e2e_{uuid.uuid4().hex[:10]}"
    rabbit_manager.create_vhost(vhost)
    user = urlsplit(amqp).username
    rabbit_manager.set_vhost_permissions(vhost, user, ".*", ".*", ".*")
    parts = urlsplit(amqp)
    port = free_port()
    env = {
        **os.environ,
        "AMQP_URI": urlunsplit((parts.scheme, parts.netloc, f"/{vhost}", "", "")),
        "GATEWAY_PORT": str(port),
        **network_secrets.fresh(),
        "RPC_TIMEOUT_SECONDS": "3",
        "DISPATCH_INTERVAL_SECONDS": "0.2",
        # The tests' webhook receivers listen on 127.0.0.1 over plain HTTP.
        "WEBHOOK_REQUIRE_HTTPS": "false",
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    for name in PROCESSES:
        env[f"{name.upper()}_DATABASE_URL"] = postgres_databases()
    net = Network(env=env, logs=tmp_path_factory.mktemp("e2e-logs"), base_url=f"http://127.0.0.1:{port}")
    try:
        net.start_all()
        yield net
    finally:
        net.stop_all()
        rabbit_manager.delete_vhost(vhost)


@pytest.fixture(scope="session")
def admin(network) -> Client:
    return Client(network.base_url, network.create_admin())


@pytest.fixture(scope="session")
def agencies(network, admin) -> dict[str, Client]:
    """A hospital, a clinic, a sober living home and two peer groups, each with its key."""
    specs = {
        "hospital": ("St. Mary Hospital", "hospital", ["referrer"]),
        "clinic": ("Eastside Clinic", "clinic", ["referrer"]),
        "sober_living": ("Harbor Sober Living", "sober_living", ["referrer"]),
        "peers_a": ("Bridge Peer Recovery", "peer_group", ["coordinator"]),
        "peers_b": ("Comunidad en Recuperación", "peer_group", ["coordinator"]),
    }
    return {
        label: Client(network.base_url, admin.ok("POST", "/v1/agencies",
                                                  {"name": name, "kind": kind, "roles": roles}))
        for label, (name, kind, roles) in specs.items()
    }



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "network" in item.fixturenames:
        net = item.funcargs["network"]
        tails = "\n".join(f"--- {name} ---\n{net.tail(name, 60)}" for name in PROCESSES)
        report.sections.append(("network logs", tails))
