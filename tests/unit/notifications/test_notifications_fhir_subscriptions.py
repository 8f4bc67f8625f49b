"""FHIR Subscriptions (R4 Backport): the id-only notification Bundles, the rules of a new
subscription, who hears of which event, and a handshake sent, signed, to a real local receiver."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from fake_repositories import repository, unit_of_work
from notification_builders import NOW, agency, event, status_payload

from services.kit.errors import InvalidRequest
from services.notifications import signing
from services.notifications.adapters.channels import Channels
from services.notifications.adapters.pinned_http import Connector
from services.notifications.adapters.webhook import WebhookSender
from services.notifications.domain.rendering import Renderer
from services.notifications.domain.retry import DispatchPolicy
from services.notifications.domain.settings_request import WebhookPolicy
from services.notifications.domain.subscriptions import (
    ACTIVE,
    CHANNEL,
    EVENT,
    HANDSHAKE,
    OFF,
    TASK_STATUS_TOPIC,
    new_subscription,
    notification_bundle,
)
from services.notifications.handlers import subscriptions
from services.notifications.handlers.dispatch import dispatch_due
from services.notifications.handlers.events import notify
from tests.harness.fhir import validate

HOSPITAL, CLINIC = "ag-hospital", "ag-clinic"
BASE = "https://network.example/fhir"
LOCAL = WebhookPolicy(require_https=False, allow_private_hosts=True)


def body(endpoint="https://ehr.example/hooks", **changes):
    return {"topic": TASK_STATUS_TOPIC, "endpoint": endpoint, "heartbeat_seconds": None, **changes}


def params(bundle):
    return {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}


def test_an_event_notification_is_an_id_only_history_bundle_led_by_its_status():
    bundle = notification_bundle("sub-1", BASE, EVENT, 3, ACTIVE, "9c7e1f9a-0d55-4a53-9c0f-5b1c2d3e4f50",
                                 NOW, event_number=3, focus_id="rf-1")
    validate(bundle)
    assert bundle["type"] == "history" and bundle["timestamp"] == "2026-11-03T15:00:00Z"
    status = bundle["entry"][0]["resource"]
    assert status["resourceType"] == "Parameters"
    found = params(bundle)
    assert found["type"]["valueCode"] == "event-notification"
    assert found["events-since-subscription-start"]["valueString"] == "3"
    assert found["subscription"]["valueReference"]["reference"] == f"{BASE}/Subscription/sub-1"
    assert found["topic"]["valueCanonical"] == TASK_STATUS_TOPIC
    parts = {p["name"]: p for p in found["notification-event"]["part"]}
    assert parts["event-number"]["valueString"] == "3"
    assert parts["focus"]["valueReference"] == {"reference": "Task/rf-1"}
    # id-only: the Task's full URL, never the Task itself.
    assert bundle["entry"][1]["fullUrl"] == f"{BASE}/Task/rf-1" and "resource" not in bundle["entry"][1]


def test_a_handshake_names_no_event():
    bundle = notification_bundle("sub-1", BASE, HANDSHAKE, 0, "requested", "n-1", NOW)
    validate(bundle)
    assert params(bundle)["type"]["valueCode"] == "handshake"
    assert "notification-event" not in params(bundle) and len(bundle["entry"]) == 1
    with pytest.raises(ValueError):
        notification_bundle("sub-1", BASE, EVENT, 1, ACTIVE, "n-2", NOW)  # no focus
    with pytest.raises(ValueError):
        notification_bundle("sub-1", BASE, "query-status", 1, ACTIVE, "n-3", NOW)


def test_a_subscription_needs_the_topic_an_https_public_endpoint_and_a_sane_heartbeat():
    with pytest.raises(InvalidRequest) as refused:
        new_subscription(HOSPITAL, body("http://ehr.example/hooks", topic="x", heartbeat_seconds=0), NOW)
    assert set(refused.value.errors) == {"topic", "endpoint", "heartbeat_seconds"}
    with pytest.raises(InvalidRequest) as private:
        new_subscription(HOSPITAL, body("https://127.0.0.1/hooks"), NOW)
    assert set(private.value.errors) == {"endpoint"}
    with pytest.raises(InvalidRequest):
        new_subscription(HOSPITAL, body(None), NOW)
    local = new_subscription(HOSPITAL, body("http://127.0.0.1:9/hooks", heartbeat_seconds=60), NOW, LOCAL)
    assert (local.status, local.heartbeat_seconds, local.events_since_start) == ("requested", 60, 0)


def test_notifications_are_signed_with_the_webhook_secret_so_one_is_needed():
    uow = unit_of_work(agency(HOSPITAL, agency_kind="hospital", webhook_url=None, webhook_secret=None))
    with pytest.raises(InvalidRequest) as refused:
        subscriptions.create(uow, HOSPITAL, body(), NOW)
    assert "endpoint" in refused.value.errors


def test_each_status_change_numbers_one_notification_per_listening_subscription_of_the_referrer():
    uow = unit_of_work(agency(HOSPITAL, agency_kind="hospital"), agency(CLINIC, agency_kind="clinic"))
    first = subscriptions.create(uow, HOSPITAL, body(), NOW)
    second = subscriptions.create(uow, HOSPITAL, body(), NOW)
    theirs = subscriptions.create(uow, CLINIC, body(), NOW)
    subscriptions.turn_off(uow, HOSPITAL, second.id)
    deliveries = repository(uow, "deliveries")
    assert [d.event_type for d in deliveries.of(HOSPITAL)] == ["subscription.handshake"] * 2

    changed = event("referral.status_changed", status_payload())
    assert uow.handle(changed, notify, NOW)
    assert not uow.handle(changed, notify, NOW)  # a redelivery counts nothing twice
    uow.handle(event("referral.status_changed", status_payload(to_status="completed",
                                                               from_status="in-progress")), notify, NOW)
    sent = [d for d in deliveries.of(HOSPITAL) if d.event_type == "subscription.event-notification"]
    assert {d.channel for d in sent} == {CHANNEL} and len(sent) == 2
    messages = sorted((row["message"] for row in deliveries.rows.values()
                       if row["message"].kind == "subscription.event-notification"),
                      key=lambda m: m.data["event_number"])
    assert [(m.data["subscription_id"], m.data["event_number"], m.data["referral_id"]) for m in messages] == [
        (first.id, 1, "rf-1"), (first.id, 2, "rf-1")]
    assert subscriptions.read(uow, HOSPITAL, first.id).events_since_start == 2
    assert subscriptions.read(uow, CLINIC, theirs.id).events_since_start == 0
    with pytest.raises(Exception, match="No such subscription"):
        subscriptions.read(uow, CLINIC, first.id)  # another agency's: unknown


def test_heartbeats_fall_due_once_per_period_on_active_subscriptions():
    uow = unit_of_work(agency(HOSPITAL, agency_kind="hospital"))
    made = subscriptions.create(uow, HOSPITAL, body(heartbeat_seconds=60), NOW)
    store = repository(uow, "subscriptions")
    assert subscriptions.heartbeats(uow, NOW + timedelta(minutes=5)) == 0  # still requested
    store.save(replace(store.get(made.id), status=ACTIVE))
    assert subscriptions.heartbeats(uow, NOW + timedelta(seconds=30)) == 0
    assert subscriptions.heartbeats(uow, NOW + timedelta(seconds=61)) == 1
    assert subscriptions.heartbeats(uow, NOW + timedelta(seconds=90)) == 0
    assert subscriptions.heartbeats(uow, NOW + timedelta(seconds=122)) == 1
    store.save(replace(store.get(made.id), status=OFF))
    assert subscriptions.heartbeats(uow, NOW + timedelta(hours=1)) == 0


def test_the_handshake_reaches_a_real_receiver_signed_and_activates_the_subscription(local_http):
    receiver = local_http(lambda request: (200, {}, b""))
    uow = unit_of_work(agency(HOSPITAL, agency_kind="hospital"))
    made = subscriptions.create(uow, HOSPITAL, body(receiver.url + "/fhir-hook"), NOW, LOCAL)
    channels = Channels(Renderer("https://network.example"),
                        webhook=WebhookSender(connector=Connector(allow_private_hosts=True)))
    assert dispatch_due(uow, channels, lambda: NOW, DispatchPolicy()) == 1
    [request] = receiver.received
    assert request.path == "/fhir-hook"
    assert request.headers["Content-Type"] == "application/fhir+json"
    signing.verify("whsec_x", request.body, request.headers[signing.SIGNATURE_HEADER], tolerance=10**10)
    bundle = json.loads(request.body)
    validate(bundle)
    assert params(bundle)["type"]["valueCode"] == "handshake"
    assert subscriptions.read(uow, HOSPITAL, made.id).status == ACTIVE
