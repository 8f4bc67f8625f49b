"""One real network per test session: RabbitMQ vhost, PostgreSQL databases, five processes."""

from __future__ import annotations

import pytest

from network.processes import Client
from tests.harness.network import log_tails, register_agencies, running_network
from tests.harness.sms_provider import SmsProvider
from tests.harness.smtp_sink import SmtpSink


@pytest.fixture(scope="session")
def sms_provider():
    """The network's SMS provider: a local server speaking Twilio's Messages API."""
    provider = SmsProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def smtp_inbox(tmp_path_factory):
    """A real SMTP server for participants' check-in emails, in a process of its own: ``port``
    and ``mails``."""
    sink = SmtpSink(tmp_path_factory.mktemp("smtp-inbox")).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def network(request, rabbit_manager, postgres_databases, tmp_path_factory, sms_provider, smtp_inbox):
    """The engagement service reads the time from ``network.engagement_clock`` once a test writes
    it (the real time until then), so a test can move its check-in cadence across days."""
    amqp = request.config.getoption("RABBIT_AMQP_URI")
    logs = tmp_path_factory.mktemp("e2e-logs")
    clock = logs / "engagement-clock"
    urls: dict[str, str] = {}

    def database(process: str) -> str:
        urls[process] = postgres_databases()
        return urls[process]

    settings = {**sms_provider.settings(), "CHECKIN_INTERVAL_SECONDS": "0.3",
                "CRISIS_CHECK_SECONDS": "0.3", "SILENCE_CHECK_SECONDS": "0.3",
                "ASSESSMENT_CHECK_SECONDS": "0.3"}
    with running_network(amqp, rabbit_manager, database, logs, settings=settings,
                         process_settings=lambda _vhost, _amqp: {"engagement": {
                             "CLOCK_FILE": str(clock), "SMTP_HOST": "127.0.0.1",
                             "SMTP_PORT": str(smtp_inbox.port), "SMTP_STARTTLS": "false",
                             "ENGAGEMENT_SMTP_SENDER": "checkins@network.example"},
                             # Outcome reports publish groups of two and more, so a test's few referrals show.
                             "outcomes": {"OUTCOMES_K": "2"}}
                         ) as net:
        net.engagement_clock = clock
        net.database_urls = urls
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
