"""Signed webhooks from the running service to real local receivers: signatures, retries,
final failures and duplicate events, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete

from services.kit.db import make_engine
from services.kit.errors import Conflict, Forbidden
from services.notifications import signing
from services.notifications.adapters.orm import metadata
from tests.integration.notifications.agencies import HOSPITAL, PEERS
from tests.integration.notifications.receivers import answers, publish, publish_again
from tests.support import wait_for
from tests.unit.notifications.notification_builders import match_payload, status_payload


def only_delivery(notifications, caller, status):
    items = notifications.deliveries(caller)["items"]
    return items[0] if len(items) == 1 and items[0]["status"] == status else None


def test_match_proposal_reaches_the_webhook_signed_with_the_secret_from_put_settings(
        notifications, config, http_receiver, outcomes):
    hook = http_receiver(answers())
    secret = notifications.put_settings(PEERS, {"webhook_url": f"{hook.url}/hooks"})["webhook_secret"]

    event = publish(config["AMQP_URI"], "match.proposed", match_payload())

    request = wait_for(lambda: hook.received)[0]
    assert request.path == "/hooks"
    assert signing.verify(secret, request.body, request.headers["X-Signature"])
    body = json.loads(request.body)
    assert (body["id"], body["type"]) == (event.id, "match.proposed")
    assert body["data"]["match_id"] == "mt-1"
    assert body["links"]["referral"] == "https://network.example/v1/referrals/rf-1"
    delivery = wait_for(lambda: only_delivery(notifications, PEERS, "sent"))
    assert (delivery["channel"], len(delivery["attempts"])) == ("webhook", 1)
    delivered = wait_for(lambda: outcomes.of_type("notification.delivered"))
    assert delivered[0]["payload"]["notification_id"] == delivery["id"]


def test_a_receiver_that_fails_three_times_gets_the_message_on_the_fourth_attempt(
        notifications, config, http_receiver):
    hook = http_receiver(answers(503, 503, 503))
    notifications.put_settings(PEERS, {"webhook_url": hook.url})

    publish(config["AMQP_URI"], "match.proposed", match_payload())

    delivery = wait_for(lambda: only_delivery(notifications, PEERS, "sent"))
    assert [a["outcome"] for a in delivery["attempts"]] == ["retryable_error"] * 3 + ["sent"]
    assert [a["http_status"] for a in delivery["attempts"]] == [503, 503, 503, 200]
    assert len(hook.received) == 4
    assert len({json.loads(r.body)["id"] for r in hook.received}) == 1


def test_a_receiver_that_always_fails_ends_failed_and_the_network_is_told(
        notifications, config, http_receiver, outcomes):
    hook = http_receiver(answers(then=500))
    notifications.put_settings(PEERS, {"webhook_url": hook.url})

    publish(config["AMQP_URI"], "match.proposed", match_payload())

    delivery = wait_for(lambda: only_delivery(notifications, PEERS, "failed"))
    assert [a["number"] for a in delivery["attempts"]] == [1, 2, 3, 4]
    assert all(a["http_status"] == 500 and a["error"] == "HTTP 500" for a in delivery["attempts"])
    failed = wait_for(lambda: outcomes.of_type("notification.failed"))
    assert failed[0]["payload"] == {
        "notification_id": delivery["id"], "agency_id": "ag-peers", "channel": "webhook",
        "attempts": 4, "event_id": delivery["event_id"], "event_type": "match.proposed",
    }
    assert len(hook.received) == 4


def test_the_same_event_delivered_twice_sends_one_message(notifications, config, http_receiver):
    peers_hook, hospital_hook = http_receiver(answers()), http_receiver(answers())
    notifications.put_settings(PEERS, {"webhook_url": peers_hook.url})
    notifications.put_settings(HOSPITAL, {"webhook_url": hospital_hook.url})
    uri = config["AMQP_URI"]

    event = publish(uri, "match.proposed", match_payload())
    publish_again(uri, event)  # a redelivery: the inbox skips it
    wait_for(lambda: peers_hook.received)
    # Past the inbox too (its record gone): the unique delivery key still holds.
    engine = make_engine(config["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(delete(metadata.tables["processed_events"]))
    engine.dispose()
    publish_again(uri, event)
    # An event published afterwards, delivered, shows the replays were consumed by then.
    publish(uri, "referral.status_changed", status_payload())
    wait_for(lambda: hospital_hook.received)

    assert len(peers_hook.received) == 1
    assert len(notifications.deliveries(PEERS)["items"]) == 1


PEERS_ADMIN = {**PEERS, "roles": ["coordinator", "admin"]}


def test_an_admin_sends_a_signed_test_event_through_the_delivery_path(notifications, http_receiver,
                                                                      outcomes):
    with pytest.raises(Conflict):  # no webhook URL yet
        notifications.send_test(PEERS_ADMIN)
    hook = http_receiver(answers(401))  # a receiver that does not take the signature yet
    secret = notifications.put_settings(PEERS, {"webhook_url": f"{hook.url}/hooks"})["webhook_secret"]
    with pytest.raises(Forbidden):
        notifications.send_test(PEERS)

    failed = notifications.send_test(PEERS_ADMIN)
    assert (failed["channel"], failed["event_type"], failed["status"]) == (
        "webhook", "notification.test", "failed")
    assert [(a["outcome"], a["http_status"]) for a in failed["attempts"]] == [("error", 401)]
    sent = notifications.send_test(PEERS_ADMIN)
    assert sent["status"] == "sent" and sent["attempts"][0]["http_status"] == 200

    first, second = hook.received
    assert signing.verify(secret, second.body, second.headers["X-Signature"])
    body = json.loads(second.body)
    assert (body["id"], body["type"], body["data"]) == (sent["event_id"], "notification.test",
                                                       {"agency_id": "ag-peers"})
    assert second.headers["X-Notification-Type"] == "notification.test"
    # Both are in the delivery log, newest first, and told to the network like any delivery.
    assert [d["id"] for d in notifications.deliveries(PEERS)["items"]] == [sent["id"], failed["id"]]
    wait_for(lambda: outcomes.of_type("notification.delivered"))
