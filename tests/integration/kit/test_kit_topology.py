"""``referral-network topology`` declares every registered consumer's queue on a real RabbitMQ."""

from __future__ import annotations

import json

from kombu import Connection, Queue

from services.kit import broker, consumers, deadletters, topology
from services.kit.cli import main as cli_main
from services.kit.contract import new_event
from tests.support import wait_for

STATUS_CHANGED = {
    "referral_id": "r-1", "referrer_agency_id": "a-1", "participant_id": "p-1", "urgency": "routine",
    "from_status": "requested", "to_status": "accepted",
}


def _waiting(conn: Connection, queue: str) -> int:
    return Queue(queue, durable=True)(conn.default_channel).queue_declare(passive=True).message_count


def test_topology_declares_every_consumer_so_events_wait_for_it(rabbit_config, capsys):
    uri = rabbit_config["AMQP_URI"]
    assert cli_main(["topology", "--amqp-uri", uri]) == 0
    declared = [json.loads(line)["queue"] for line in capsys.readouterr().out.splitlines()]
    assert declared == list(consumers.subscriptions())

    event = new_event("referral.status_changed", STATUS_CHANGED, source="referrals")
    broker.publish(uri, event.to_message(), exchange=topology.EVENTS, routing_key=event.type)
    with Connection(uri) as conn:
        for queue, event_types in consumers.subscriptions().items():
            if event.type in event_types:
                wait_for(lambda queue=queue: _waiting(conn, queue) == 1)
            else:
                assert _waiting(conn, queue) == 0, queue


def test_quorum_queues_by_configuration_park_a_message_past_its_delivery_limit(rabbit_config, rabbit_manager):
    uri, vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
    options = topology.QueueOptions.from_config({"QUEUE_TYPE": "quorum", "QUEUE_DELIVERY_LIMIT": 2})
    with Connection(uri) as conn:
        topology.declare(conn, {"kit.sink": ("consent.expired",)}, [500], options)
    declared = {q["name"]: q for q in rabbit_manager.get_queues(vhost)}
    for name in ("kit.sink", topology.DEAD_LETTERS.name, "referral-network.delay.500ms"):
        assert declared[name]["type"] == "quorum", name
    assert declared["kit.sink"]["arguments"]["x-delivery-limit"] == 2

    event = new_event("consent.expired", {"consent_id": "c-1", "participant_id": "p-1"}, source="consent")
    broker.publish(uri, event.to_message(), exchange=topology.EVENTS, routing_key=event.type,
                   message_id=event.id)
    with Connection(uri) as conn:
        sink = Queue("kit.sink")(conn.default_channel)
        deliveries = 0
        # A consumer that keeps failing on it: requeued every time, until the broker gives up.
        while True:
            message = wait_for(lambda: sink.get(no_ack=False, accept=[broker.JSON]) or _empty(conn),
                               what="a delivery or an empty queue")
            if message == "empty":
                break
            deliveries += 1
            message.requeue()
        letters = wait_for(lambda: deadletters.list_dead_letters(conn), what="the parked message")
    assert deliveries == 3  # the first delivery and two more
    assert [letter.event_id for letter in letters] == [event.id]


def _empty(conn: Connection):
    return "empty" if _waiting(conn, "kit.sink") == 0 else None
