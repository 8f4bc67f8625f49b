"""Only the referrals service may ask consent to disclose: the broker vouches for who is calling.

Each calling service connects as its own broker user (created here in the test's own vhost); the
consent service knows which user is referrals' (``RPC_CALLER_USERS``). RabbitMQ validates the
``user_id`` property of every message against the connection's user, so a service connecting with
its own identity cannot pass for referrals, not by a forged ``user_id`` nor by a header.
"""

from __future__ import annotations

import secrets
import subprocess
from urllib.parse import urlsplit, urlunsplit

import amqp.exceptions
import pytest
from kombu import Connection, Exchange
from nameko.rpc import rpc

from services.kit.errors import Forbidden
from services.kit.rpc import BROKER_USER, ServiceClient
from tests.integration.consent.support import HOSPITAL, ask, grant_request
from tests.support import service_proxy


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def broker_users(config):
    """``{service: AMQP URI}``: a broker user each for referrals and matching, in the test's vhost."""
    parts = urlsplit(config["AMQP_URI"])
    vhost = parts.path.lstrip("/")
    uris, created = {}, []
    for service in ("referrals", "matching"):
        user, password = f"rn_test_{service}_{secrets.token_hex(4)}", secrets.token_hex(16)
        _ctl("add_user", user, password)
        created.append(user)
        _ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        netloc = f"{user}:{password}@{parts.hostname}:{parts.port or 5672}"
        uris[service] = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    yield uris
    for user in created:
        _ctl("delete_user", user)


def _user(uri: str) -> str:
    return urlsplit(uri).username


class ReferralsProbe:
    """A service calling consent through the kit's client, as referrals does."""

    name = "referrals_probe"
    consent = ServiceClient("consent")

    @rpc
    def call(self, method, arguments):
        return getattr(self.consent, method)(**arguments)


class MatchingProbe(ReferralsProbe):
    name = "matching_probe"


@pytest.fixture
def granted(start_service, config, broker_users):
    consent = start_service(config, RPC_CALLER_USERS=f"referrals:{_user(broker_users['referrals'])}")
    return consent.grant(HOSPITAL, grant_request())


@pytest.fixture
def probes(container_factory, config, broker_users):
    """``{service: RPC proxy of a probe connected as that service's broker user}``."""
    opened = {}
    for service, cls in (("referrals", ReferralsProbe), ("matching", MatchingProbe)):
        container_factory(cls, {**config, "AMQP_URI": broker_users[service]}).start()
        opened[service] = service_proxy(cls.name, config)
    yield {service: proxy.start() for service, proxy in opened.items()}
    for proxy in opened.values():
        proxy.stop()


def test_referrals_is_given_the_details_and_another_service_is_forbidden(granted, probes):
    disclosed = probes["referrals"].call("disclose", ask(granted))
    assert disclosed["participant"]["email"] == "ana@example.org"
    with pytest.raises(Forbidden):
        probes["matching"].call("disclose", ask(granted))


@pytest.mark.parametrize("method", ["authorize", "record_access"])
def test_the_decision_point_answers_only_referrals(granted, probes, method):
    arguments = ask(granted) if method == "authorize" else {
        "actor": "peer-1", "participant_id": granted["participant_id"], "what": "handoff"}
    with pytest.raises(Forbidden):
        probes["matching"].call(method, arguments)
    assert probes["referrals"].call(method, arguments)


def test_a_service_cannot_pass_for_referrals_by_header_or_by_user_id(granted, config, broker_users):
    pretended = _user(broker_users["referrals"])
    matching = {"AMQP_URI": broker_users["matching"]}
    with service_proxy("consent", matching, context_data={BROKER_USER: pretended}) as consent:
        with pytest.raises(Forbidden):
            consent.disclose(**ask(granted))
    # The broker itself refuses a message whose user_id is not the connection's own user.
    with Connection(broker_users["matching"], transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(exchange=Exchange("nameko-rpc", type="topic", durable=True))
        with pytest.raises(amqp.exceptions.PreconditionFailed):
            producer.publish({"args": [], "kwargs": ask(granted)}, routing_key="consent.disclose",
                             user_id=pretended, serializer="json")
