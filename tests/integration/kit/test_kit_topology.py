"""``referral-network topology`` declares every registered consumer's queue on a real RabbitMQ."""

from __future__ import annotations

import json

from kombu import Connection, Queue

from services.kit import broker, consumers, topology
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
