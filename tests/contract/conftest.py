"""The contract suite's network: real processes on SQLite, then on PostgreSQL, populated through
the API before any fuzzing starts."""

from __future__ import annotations

import pytest

from network.processes import Client
from tests.contract import fuzzing
from tests.contract.world import World, populate
from tests.harness.network import log_tails, register_agencies, running_network
from tests.support import HttpReceiver


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def contract_network(request, rabbit_manager, tmp_path_factory):
    """The whole network, once per database; only one runs at a time (pytest groups by param)."""
    amqp = request.config.getoption("RABBIT_AMQP_URI")
    data = tmp_path_factory.mktemp(f"contract-{request.param}")
    if request.param == "sqlite":
        def database_url(process: str) -> str:
            return f"sqlite:///{data / f'{process}.db'}"
    else:
        databases = request.getfixturevalue("postgres_databases")

        def database_url(process: str) -> str:
            return databases()
    with running_network(amqp, rabbit_manager, database_url, data, vhost_prefix="rn_contract") as net:
        net.database = request.param
        yield net


@pytest.fixture(scope="session")
def webhook_receiver():
    receiver = HttpReceiver(lambda _request: (200, b"{}")).start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def world(contract_network, webhook_receiver) -> World:
    """Agencies of every kind and role, and every kind of object, made through the API."""
    operator = Client(contract_network.base_url, contract_network.create_operator())
    return populate(operator, register_agencies(contract_network, operator), webhook_receiver)


@pytest.fixture(params=fuzzing.ROLES)
def role(request) -> str:
    return request.param


@pytest.fixture
def api_schema(contract_network, world, role):
    """The live OpenAPI document, fuzzed as ``role`` with that role's real API key: every operation
    on SQLite, on PostgreSQL those of ``fuzzing.on_postgres(role)``."""
    only = fuzzing.on_postgres(role) if contract_network.database == "postgres" else None
    return fuzzing.load(contract_network.base_url, world, role, only=only)


@pytest.fixture(autouse=True)
def _schemathesis_node_id(request):
    # schemathesis' fixture-loaded tests relabel ``node._nodeid`` per operation; pytest 9 keeps
    # the id elsewhere, so give them the attribute to read (reports still name each operation).
    request.node._nodeid = request.node.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "contract_network" in item.fixturenames:
        report.sections.append(("network logs", log_tails(item.funcargs["contract_network"], 30)))
