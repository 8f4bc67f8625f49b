"""Signed webhooks to a real local receiver, retried through the delivery model."""

import json
import random
from datetime import timedelta

import pytest
from notification_builders import NOW, event, match_payload

from services.notifications import signing
from services.notifications.adapters.pinned_http import Connector
from services.notifications.adapters.webhook import ID_HEADER, WebhookSender
from services.notifications.domain.delivery import FAILED, SENT, Delivery
from services.notifications.domain.message import MATCH_PROPOSED, message_for
from services.notifications.domain.rendering import Renderer
from services.notifications.domain.retry import DeliveryRetryPolicy

SECRET = "whsec_agency-secret"
renderer = Renderer("https://network.example")
LOOPBACK = Connector(allow_private_hosts=True)  # the receivers here listen on 127.0.0.1


def ok(_request):
    return 204, {}, b""


def test_receiver_gets_the_message_and_its_signature_verifies(local_http):
    server = local_http(ok)
    message = message_for(event("match.proposed", match_payload()), MATCH_PROPOSED)

    outcome = WebhookSender(connector=LOOPBACK).send(server.url + "/hooks/rrn", SECRET,
                                   renderer.webhook_body(message), message.id, message.kind)

    assert outcome.ok and outcome.http_status == 204
    [request] = server.received
    assert request.path == "/hooks/rrn"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers[ID_HEADER] == message.id
    signing.verify(SECRET, request.body, request.headers[signing.SIGNATURE_HEADER])
    body = json.loads(request.body)
    assert set(body) >= {"id", "type", "occurred_at", "data"}
    assert body["type"] == "match.proposed" and body["id"] == message.id
    assert body["data"]["match_id"] == "mt-1"
    assert body["links"]["referral"] == "https://network.example/v1/referrals/rf-1"


def test_a_body_changed_on_the_way_or_an_old_request_fails_verification(local_http):
    server = local_http(ok)
    message = message_for(event("match.proposed", match_payload()), MATCH_PROPOSED)
    sent_at = 1_790_000_000
    sender = WebhookSender(connector=LOOPBACK, clock=lambda: sent_at)
    sender.send(server.url, SECRET, renderer.webhook_body(message), message.id)
    [request] = server.received
    header = request.headers[signing.SIGNATURE_HEADER]

    with pytest.raises(signing.SignatureMismatch):
        signing.verify(SECRET, request.body.replace(b"mt-1", b"mt-9"), header, now=sent_at)
    with pytest.raises(signing.StaleSignature):
        signing.verify(SECRET, request.body, header, now=sent_at + 301)
    assert signing.verify(SECRET, request.body, header, now=sent_at + 299) == sent_at


def flaky(failures: int, status: int = 503):
    calls = {"n": 0}

    def respond(_request):
        calls["n"] += 1
        return (status, {}, b"try later") if calls["n"] <= failures else (200, {}, b"ok")

    return respond


def drive(delivery, send, policy, start):
    """Run a delivery to its end on a fake clock: each attempt happens when it is due."""
    now, rng = start, random.Random(7)
    while not delivery.is_final:
        assert delivery.is_due(now)
        delivery.record_attempt(send(), now, policy, rng)
        now = delivery.next_attempt_at or now
    return delivery


def test_receiver_failing_three_times_gets_the_message_on_the_fourth_attempt(local_http):
    server = local_http(flaky(3))
    policy = DeliveryRetryPolicy(max_attempts=6)
    delivery = Delivery.create("ev-1", "match.proposed", "ag-peers", "webhook", NOW)
    sender = WebhookSender(connector=LOOPBACK)

    drive(delivery, lambda: sender.send(server.url, SECRET, b"{}", "ev-1"), policy, NOW)

    assert delivery.status == SENT
    assert [a.outcome for a in delivery.attempts] == ["retryable_error"] * 3 + ["sent"]
    assert [a.http_status for a in delivery.attempts] == [503, 503, 503, 200]
    waits = [b.at - a.at for a, b in zip(delivery.attempts, delivery.attempts[1:], strict=False)]
    assert timedelta(seconds=1) <= waits[0] <= timedelta(seconds=2)
    assert timedelta(seconds=4) <= waits[2] <= timedelta(seconds=8)
    assert len(server.received) == 4
    [event] = delivery.events
    assert event.type == "notification.delivered" and event.payload["attempts"] == 4


def test_receiver_that_always_fails_ends_failed_with_every_attempt_logged(local_http):
    server = local_http(flaky(100, status=500))
    policy = DeliveryRetryPolicy(max_attempts=5)
    delivery = Delivery.create("ev-2", "referral.status_changed", "ag-hospital", "webhook", NOW)
    sender = WebhookSender(connector=LOOPBACK)

    drive(delivery, lambda: sender.send(server.url, SECRET, b"{}", "ev-2"), policy, NOW)

    assert delivery.status == FAILED and delivery.next_attempt_at is None
    assert len(delivery.attempts) == 5 == len(server.received)
    assert all(a.error == "HTTP 500" for a in delivery.attempts)
    log = delivery.to_log_entry()
    assert [a["number"] for a in log["attempts"]] == [1, 2, 3, 4, 5]
    assert delivery.events[0].type == "notification.failed"


def test_client_error_is_final_at_once_but_429_is_retried(local_http):
    gone = local_http(lambda _r: (410, {}, b""))
    busy = local_http(lambda _r: (429, {}, b""))
    sender = WebhookSender(connector=LOOPBACK)
    assert not sender.send(gone.url, SECRET, b"{}", "x").retryable
    assert sender.send(busy.url, SECRET, b"{}", "x").retryable


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed_and_the_delivery_fails_as_redirect_refused(local_http, status):
    target = local_http(ok)
    moved = local_http(lambda _r: (status, {"Location": target.url + "/elsewhere"}, b""))
    delivery = Delivery.create("ev-3", "match.proposed", "ag-peers", "webhook", NOW)
    sender = WebhookSender(connector=LOOPBACK)

    drive(delivery, lambda: sender.send(moved.url, SECRET, b"{}", "ev-3"), DeliveryRetryPolicy(), NOW)

    assert delivery.status == FAILED and len(moved.received) == 1 and target.received == []
    [attempt] = delivery.attempts
    assert (attempt.outcome, attempt.http_status, attempt.error) == ("error", status, "redirect_refused")


def test_unreachable_receiver_is_retryable_and_the_error_names_no_url_or_secret():
    url = "http://127.0.0.1:9/hooks?token=hunter2"  # port 9 (discard) is closed here
    outcome = WebhookSender(timeout=0.5, connector=LOOPBACK).send(url, SECRET, b"{}", "x")
    assert not outcome.ok and outcome.retryable
    assert "hunter2" not in outcome.detail and SECRET not in outcome.detail
    assert "127.0.0.1" not in outcome.detail
