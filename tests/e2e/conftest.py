"""One real network per test session: RabbitMQ vhost, PostgreSQL databases, five processes."""

from __future__ import annotations

import pytest

from network.processes import Client
from tests.harness.network import log_tails, register_agencies, running_network


@pytest.fixture(scope="session")
def network(request, rabbit_manager, postgres_databases, tmp_path_factory):
    amqp = request.config.getoption("RABBIT_AMQP_URI")
    with running_network(amqp, rabbit_manager, lambda _process: postgres_databases(),
                         tmp_path_factory.mktemp("e2e-logs")) as net:
        yield net


@pytest.fixture(scope="session")
def operator(network) -> Client:
    """The network operator, created from the command line as production creates it."""
    return Client(network.base_url, network.create_operator())


@pytest.fixture(scope="session")
def agencies(network, operator) -> dict[str, Client]:
    """A hospital, a clinic, a sober living home and two peer groups, each with its key."""
    return register_agencies(network, operator)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "network" in item.fixturenames:
        report.sections.append(("network logs", log_tails(item.funcargs["network"])))
