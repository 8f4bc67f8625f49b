"""RPC requests and replies carry participant details, so neither is ever persistent: a message
that waits in a queue (a service slow or down) must not rest on the broker's disk in clear."""

from __future__ import annotations

import json
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from nameko.constants import NON_PERSISTENT
from nameko.rpc import RPC_QUEUE_TEMPLATE

from services.kit.entrypoints import rpc
from services.kit.errors import ServiceUnavailable
from services.kit.rpc import ServiceClient
from tests.support import service_proxy, wait_for

CANARY = {"given_name": "Canary", "email": "canary@example.org"}
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


class Referrals:
    """A caller of a consent service that is not running: its request waits in the queue."""

    name = "referrals"
    consent = ServiceClient("consent")

    @rpc
    def create(self) -> str:
        try:
            self.consent.grant({}, {"participant": CANARY}, timeout=5)
        except ServiceUnavailable:
            return "waited"
        return "answered"


class Consent:
    name = "consent"

    @rpc
    def grant(self, caller: dict, request: dict) -> dict:
        return {"participant": request["participant"]}


@pytest.fixture
def broker(rabbit_config):
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        yield connection


def test_a_request_waiting_for_a_stopped_service_is_transient(container_factory, rabbit_config, broker):
    waiting = Queue(RPC_QUEUE_TEMPLATE.format("consent"), RPC_EXCHANGE, routing_key="consent.*",
                    durable=True)
    waiting(broker.channel()).declare()  # the consent service's queue, its consumer stopped
    container_factory(Referrals, rabbit_config).start()
    with service_proxy("referrals", rabbit_config) as referrals:
        pending = referrals.create.call_async()
        # Read it while it waits: past the caller's deadline the broker drops it (its expiration).
        message = wait_for(lambda: waiting(broker.channel()).get(no_ack=True), timeout=4)
        assert pending.result() == "waited"

    assert json.loads(message.body)["args"][1] == {"participant": CANARY}
    assert message.properties["delivery_mode"] == NON_PERSISTENT


def test_a_reply_with_participant_details_is_transient(container_factory, rabbit_config, broker):
    container_factory(Consent, rabbit_config).start()
    reply_key = f"reply-{uuid.uuid4().hex}"
    replies = Queue(reply_key, RPC_EXCHANGE, routing_key=reply_key, durable=True, auto_delete=True)
    replies(broker.channel()).declare()
    with broker.Producer() as producer:
        producer.publish({"args": [{}, {"participant": CANARY}], "kwargs": {}},
                         exchange=RPC_EXCHANGE, routing_key="consent.grant", serializer="json",
                         reply_to=reply_key, correlation_id="c-1")

    message = wait_for(lambda: replies(broker.channel()).get(no_ack=True), timeout=15)
    assert json.loads(message.body)["result"] == {"participant": CANARY}
    assert message.properties["delivery_mode"] == NON_PERSISTENT
