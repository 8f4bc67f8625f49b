"""Each process on its own broker user with the permissions of deploy/broker/permissions.json,
applied by deploy/broker_users.py in this test's own vhost: the network serves a referral to its
handoff, and one service's user can neither consume another's queue nor send consent a decision
call, whether as itself or passing for referrals."""

from __future__ import annotations

import importlib.util
import secrets
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import amqp.exceptions
import pytest
from kombu import Connection, Exchange, Queue

from gateway.adapters.key_invalidations import announce
from network.processes import Client
from tests.harness.journeys import accept_proposal, grant_consent, mentor, refer, wait
from tests.harness.network import register_agencies, running_network

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DECISION_CALLS = ("consent.disclose", "consent.authorize", "consent.record_access")


def broker_users_script():
    spec = importlib.util.spec_from_file_location("broker_users", ROOT / "deploy" / "broker_users.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def own_users(request, rabbit_manager, tmp_path_factory):
    """The running network, each process connected as its own user; ``{service: AMQP URI}``."""
    script = broker_users_script()
    amqp_uri, api = request.config.getoption("RABBIT_AMQP_URI"), request.config.getoption("RABBIT_API_URI")
    parts = urlsplit(api)
    admin = (parts.username or "guest", parts.password or "guest")
    api_base = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port}", "", "", ""))
    tag = secrets.token_hex(3)
    names = {service: f"rn_t{tag}_{service}" for service in script.load_table()["services"]}
    passwords = {service: secrets.token_hex(16) for service in names}
    uris: dict[str, str] = {}

    def per_process(vhost: str, vhost_uri: str) -> dict[str, dict[str, str]]:
        script.apply(api_base, admin, vhost, passwords, users=names)
        base = urlsplit(vhost_uri)
        for service, user in names.items():
            netloc = f"{user}:{passwords[service]}@{base.hostname}:{base.port or 5672}"
            uris[service] = urlunsplit((base.scheme, netloc, base.path, "", ""))
        settings = {service: {"AMQP_URI": uri} for service, uri in uris.items()}
        settings["consent"]["RPC_CALLER_USERS"] = f"referrals:{names['referrals']}"
        return settings

    try:
        with running_network(amqp_uri, rabbit_manager, lambda name: f"sqlite:///{tmp_path_factory.mktemp(name)}/{name}.db",
                             tmp_path_factory.mktemp("broker-users-logs"), vhost_prefix="rn_users",
                             process_settings=per_process) as network:
            yield network, uris, names
    finally:
        for user in names.values():
            rabbit_manager._delete("users", user)


def test_the_network_serves_a_referral_to_its_handoff_with_each_service_on_its_own_user(own_users):
    network, _, _ = own_users
    operator = Client(network.base_url, network.create_operator())
    agencies = register_agencies(network, operator)
    hospital, peers = agencies["hospital"], agencies["peers_a"]
    peers.ok("POST", "/v1/mentors", mentor(1, languages=("en",)))
    consent = grant_consent(hospital, tag="Users", classes=(), agencies=(peers.id,))
    created = refer(hospital, consent, languages=("en",))
    accept_proposal([peers], hospital, created["id"])
    handoff = peers.ok("GET", f"/v1/referrals/{created['id']}/handoff")
    assert handoff["participant"]["given_name"] == "CanaryUsers"
    # Engagement, as its own user, read the contact details through referrals' handoff.
    wait(lambda: peers.request("GET", f"/v1/referrals/{created['id']}/engagement").status_code == 200,
         "the engagement to begin")


@pytest.mark.parametrize("service,queue", [("matching", "rpc-consent"), ("gateway", "rpc-referrals"),
                                           ("notifications", "referrals.on_match")])
def test_a_service_user_cannot_consume_another_services_queue(own_users, service, queue):
    _, uris, _ = own_users
    with Connection(uris[service]) as connection:
        channel = connection.channel()
        with pytest.raises(amqp.exceptions.AccessRefused):
            channel.basic_consume(queue, callback=lambda message: None)
            connection.drain_events(timeout=5)


@pytest.mark.parametrize("service", ["matching", "gateway", "notifications", "engagement"])
@pytest.mark.parametrize("call", DECISION_CALLS)
def test_only_referrals_user_may_send_consent_a_decision_call(own_users, service, call):
    _, uris, names = own_users
    for user_id in (names[service], names["referrals"]):  # as itself, and passing for referrals
        with Connection(uris[service], transport_options={"confirm_publish": True}) as connection:
            producer = connection.Producer(exchange=Exchange("nameko-rpc", type="topic", durable=True))
            with pytest.raises((amqp.exceptions.AccessRefused, amqp.exceptions.PreconditionFailed)):
                producer.publish({"args": [], "kwargs": {}}, routing_key=call, user_id=user_id,
                                 serializer="json", reply_to=str(uuid.uuid4()))


def test_referrals_user_may_send_consent_a_decision_call(own_users):
    _, uris, names = own_users
    with Connection(uris["referrals"], transport_options={"confirm_publish": True}) as connection:
        reply = Queue(f"rpc.reply-referrals-{uuid.uuid4()}", exclusive=True, auto_delete=True)
        reply(connection.channel()).declare()
        producer = connection.Producer(exchange=Exchange("nameko-rpc", type="topic", durable=True))
        producer.publish({"args": [], "kwargs": {}}, routing_key="consent.ping",
                         user_id=names["referrals"], serializer="json", reply_to=str(uuid.uuid4()))


def test_engagement_user_may_read_the_assigned_mentor_and_nothing_more_of_matching(own_users):
    """The fourteen-day silence alert reads the referral's mentor (referrals ``get``) and their
    supervisor (matching ``list_mentors``) as engagement's own user; changing a mentor it may not."""
    _, uris, names = own_users
    for call in ("referrals.get", "matching.list_mentors"):
        with Connection(uris["engagement"], transport_options={"confirm_publish": True}) as connection:
            producer = connection.Producer(exchange=Exchange("nameko-rpc", type="topic", durable=True))
            producer.publish({"args": [], "kwargs": {}}, routing_key=call, user_id=names["engagement"],
                             serializer="json", reply_to=str(uuid.uuid4()))
    with Connection(uris["engagement"], transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(exchange=Exchange("nameko-rpc", type="topic", durable=True))
        with pytest.raises((amqp.exceptions.AccessRefused, amqp.exceptions.PreconditionFailed)):
            producer.publish({"args": [], "kwargs": {}}, routing_key="matching.update_mentor",
                             user_id=names["engagement"], serializer="json", reply_to=str(uuid.uuid4()))


def test_the_gateway_user_hears_and_broadcasts_key_changes(own_users):
    """The key cache's listener binds its own queue to the key-change fanout as the gateway's
    user, and the gateway's user (the ``keys`` command's too) may broadcast a change."""
    network, uris, _ = own_users
    wait(lambda: "the key cache hears key changes" in network.tail("gateway", 5000),
         "the gateway's key cache to listen")
    assert "the key cache lost the broker" not in network.tail("gateway", 5000)
    announce(uris["gateway"], key_ids=["0123456789abcdef"])
