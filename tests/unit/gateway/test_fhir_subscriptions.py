"""FHIR Subscription (R4 Backport) to and from the notifications service's subscriptions."""

from __future__ import annotations

import pytest

from gateway.fhir import subscription as s
from gateway.fhir.capability import capability_statement
from services.kit.errors import InvalidRequest
from services.notifications.domain.subscriptions import TASK_STATUS_TOPIC
from tests.harness.fhir import validate

AGENCY = "ag-hospital"


def resource(**changes):
    return {
        "resourceType": "Subscription", "status": "requested", "reason": "Follow our referrals",
        "criteria": TASK_STATUS_TOPIC,
        "_criteria": {"extension": [{"url": s.EXT_FILTER,
                                     "valueString": f"Task?requester=Organization/{AGENCY}"}]},
        "channel": {"type": "rest-hook", "endpoint": "https://ehr.example/fhir-hook",
                    "payload": "application/fhir+json",
                    "_payload": {"extension": [{"url": s.EXT_CONTENT, "valueCode": "id-only"}]},
                    "extension": [{"url": s.EXT_HEARTBEAT, "valueUnsignedInt": 60}]},
        **changes,
    }


def test_a_backport_subscription_becomes_the_service_request():
    validate(resource())
    assert s.subscription_request(resource(), AGENCY) == {
        "topic": TASK_STATUS_TOPIC, "endpoint": "https://ehr.example/fhir-hook", "heartbeat_seconds": 60}


def test_what_this_server_does_not_offer_is_refused_by_element():
    wrong = resource(criteria="Task?status=completed", status="active", end="2030-01-01T00:00:00Z",
                     _criteria={"extension": [{"url": s.EXT_FILTER,
                                               "valueString": "Task?requester=Organization/x"}]},
                     channel={"type": "websocket", "payload": "application/fhir+xml",
                              "_payload": {"extension": [{"url": s.EXT_CONTENT,
                                                          "valueCode": "full-resource"}]},
                              "header": ["Authorization: Bearer x"]})
    with pytest.raises(InvalidRequest) as refused:
        s.subscription_request(wrong, AGENCY)
    assert set(refused.value.errors) == {
        "Subscription.criteria", "Subscription.status", "Subscription.end", "Subscription._criteria",
        "Subscription.channel.type", "Subscription.channel.payload", "Subscription.channel._payload",
        "Subscription.channel.header"}
    with pytest.raises(InvalidRequest):
        s.subscription_request({"resourceType": "Task"}, AGENCY)


def test_the_service_view_reads_back_as_a_valid_subscription():
    view = {"id": "5f7c", "status": "error", "topic": TASK_STATUS_TOPIC, "endpoint": "https://ehr.example/h",
            "heartbeat_seconds": 30, "events_since_start": 4, "created_at": "2026-11-03T15:00:00+00:00",
            "reason": "handshake_failed"}
    made = s.fhir_subscription(view)
    validate(made)
    assert made["status"] == "error" and made["error"] == "handshake_failed"
    assert made["channel"]["extension"] == [{"url": s.EXT_HEARTBEAT, "valueUnsignedInt": 30}]
    assert s.status_change([{"op": "replace", "path": "/status", "value": "off"}]) == "off"
    assert s.status_change({"status": "off"}) == "off"


def test_the_capability_statement_declares_the_topic_and_the_subscription_interactions():
    statement = capability_statement("https://network.example/fhir", "2026-11-03")
    validate(statement)
    [entry] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Subscription"]
    assert entry["extension"][0]["valueCanonical"] == TASK_STATUS_TOPIC
    assert {i["code"] for i in entry["interaction"]} == {
        "create", "read", "update", "patch", "delete", "search-type"}
    assert [p["name"] for p in entry["searchParam"]] == ["status"]
    assert "subscription" in entry["searchParam"][0]["documentation"]
