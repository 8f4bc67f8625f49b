"""FHIR Subscriptions on the running service, on SQLite and PostgreSQL: a handshake the receiver
first refuses is retried like any webhook, then status changes arrive numbered and signed; the
endpoint is stored sealed; another agency cannot read the subscription."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.kit.db import make_engine
from services.kit.errors import NotFound
from services.notifications import signing
from services.notifications.adapters.orm import fhir_subscriptions
from services.notifications.domain.subscriptions import TASK_STATUS_TOPIC
from tests.integration.notifications.agencies import HOSPITAL, PEERS
from tests.integration.notifications.receivers import answers, publish
from tests.support import wait_for
from tests.unit.notifications.notification_builders import status_payload


def kinds(hook):
    found = []
    for request in [r for r in hook.received if r.path == "/fhir"]:
        status = {p["name"]: p for p in json.loads(request.body)["entry"][0]["resource"]["parameter"]}
        found.append((status["type"]["valueCode"], status.get("notification-event")))
    return found


def test_a_refused_handshake_is_retried_then_events_arrive_numbered(notifications, config, http_receiver):
    hook = http_receiver(answers(503))
    secret = notifications.put_settings(HOSPITAL, {"webhook_url": f"{hook.url}/hooks"})["webhook_secret"]
    made = notifications.create_subscription(HOSPITAL, {
        "topic": TASK_STATUS_TOPIC, "endpoint": f"{hook.url}/fhir", "heartbeat_seconds": None})
    assert made["status"] == "requested"
    wait_for(lambda: notifications.get_subscription(HOSPITAL, made["id"])["status"] == "active")
    assert [k for k, _ in kinds(hook)] == ["handshake", "handshake"]  # 503, then 200

    for to_status in ("cancelled", "cancelled"):
        publish(config["AMQP_URI"], "referral.status_changed",
                status_payload(from_status="requested", to_status=to_status, reason_code="other"))

    def two_events():
        found = [e for k, e in kinds(hook) if k == "event-notification"]
        return found if len(found) == 2 else None

    events = wait_for(two_events)
    numbers = sorted(next(p["valueString"] for p in e["part"] if p["name"] == "event-number") for e in events)
    assert numbers == ["1", "2"]
    for request in [r for r in hook.received if r.path == "/fhir"]:
        assert request.headers["Content-Type"] == "application/fhir+json"
        signing.verify(secret, request.body, request.headers["X-Signature"])
    assert notifications.get_subscription(HOSPITAL, made["id"])["events_since_start"] == 2
    logged = {d["channel"] for d in notifications.deliveries(HOSPITAL)["items"]}
    assert "fhir-rest-hook" in logged

    engine = make_engine(config["DATABASE_URL"])
    with engine.connect() as connection:
        stored = connection.execute(select(fhir_subscriptions.c.endpoint)).scalar_one()
    engine.dispose()
    assert hook.url not in stored  # sealed

    with pytest.raises(NotFound):
        notifications.get_subscription(PEERS, made["id"])
    assert notifications.list_subscriptions(PEERS) == []
    assert notifications.turn_off_subscription(HOSPITAL, made["id"])["status"] == "off"
    notifications.delete_subscription(HOSPITAL, made["id"])
    assert notifications.list_subscriptions(HOSPITAL) == []
