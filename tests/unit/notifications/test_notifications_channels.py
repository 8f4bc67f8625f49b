"""From an event to messages on every channel: routing, planning, quiet hours, sending."""

import json
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from notification_builders import agency, event, match_payload
from notification_servers import Inbox

from services.kit.contract import new_event
from services.notifications import signing
from services.notifications.adapters.channels import Channels
from services.notifications.adapters.pinned_http import Connector
from services.notifications.adapters.sms import TwilioSettings, TwilioSmsSender
from services.notifications.adapters.smtp import SmtpSender, SmtpSettings
from services.notifications.adapters.webhook import WebhookSender
from services.notifications.domain.delivery import DEFERRED, PENDING, SENT, Delivery
from services.notifications.domain.message import message_for
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.planning import plan_deliveries, respect_quiet_hours
from services.notifications.domain.rendering import Renderer
from services.notifications.domain.retry import DeliveryRetryPolicy
from services.notifications.domain.routing import recipients

NIGHT = datetime(2026, 11, 4, 4, 0, tzinfo=UTC)  # 23:00 in New York
MORNING = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # 07:00 in New York


def ok(_request):
    return 200, {}, b""


def twilio(_request):
    return 201, {"Content-Type": "application/json"}, b'{"sid": "SM1"}'


def world(local_http, smtp_server):
    hook, sms, inbox = local_http(ok), local_http(twilio), Inbox()
    smtp = smtp_server(inbox)
    settings = agency(webhook_url=hook.url + "/hooks", language="es")
    channels = Channels(
        Renderer("https://network.example"),
        webhook=WebhookSender(connector=Connector(allow_private_hosts=True)),  # receivers on loopback
        email=SmtpSender(SmtpSettings("127.0.0.1", smtp.port, starttls=False)),
        sms=TwilioSmsSender(TwilioSettings("AC1", "token", "+15555550199", base_url=sms.url)),
    )
    return settings, channels, hook, sms, inbox


def deliver_due(deliveries, message, settings, channels, now):
    for delivery in deliveries:
        if delivery.is_due(now):
            outcome = channels.send(delivery, message, settings)
            delivery.record_attempt(outcome, now, DeliveryRetryPolicy(), random.Random(1))


def test_routine_proposal_at_night_goes_to_the_webhook_now_and_people_in_the_morning(
        local_http, smtp_server):
    settings, channels, hook, sms, inbox = world(local_http, smtp_server)
    e = event("match.proposed", match_payload(), occurred_at=NIGHT)
    [recipient] = recipients(e)
    message = message_for(e, recipient.kind)

    deliveries = plan_deliveries(message, settings, NIGHT)
    assert [(d.channel, d.status) for d in deliveries] == [
        ("webhook", PENDING), ("email", DEFERRED), ("sms", DEFERRED)]

    deliver_due(deliveries, message, settings, channels, NIGHT)
    assert len(hook.received) == 1 and inbox.mails == [] and sms.received == []
    signing.verify(settings.webhook_secret, hook.received[0].body,
                   hook.received[0].headers["X-Signature"])

    deliver_due(deliveries, message, settings, channels, MORNING)
    assert [d.status for d in deliveries] == [SENT, SENT, SENT]
    assert inbox.mails[0]["Subject"] == "Propuesta de mentor para la derivación rf-1"
    assert parse_qs(sms.received[0].body.decode())["To"] == ["+15555550100"]
    assert len(hook.received) == 1  # a sent delivery is never sent again


def test_urgent_proposal_at_night_reaches_everyone_at_once(local_http, smtp_server):
    settings, channels, hook, sms, inbox = world(local_http, smtp_server)
    e = event("match.proposed", match_payload(urgency="urgent"), occurred_at=NIGHT)
    message = message_for(e, recipients(e)[0].kind)

    deliveries = plan_deliveries(message, settings, NIGHT)
    deliver_due(deliveries, message, settings, channels, NIGHT)

    assert [d.status for d in deliveries] == [SENT, SENT, SENT]
    assert inbox.mails[0]["Subject"].startswith("[Urgente]")
    assert json.loads(hook.received[0].body)["data"]["urgency"] == "urgent"


def test_outcome_events_fit_the_shared_contract(local_http, smtp_server):
    settings, channels, *_ = world(local_http, smtp_server)
    e = event("match.proposed", match_payload(urgency="urgent"), occurred_at=NIGHT)
    message = message_for(e, recipients(e)[0].kind)
    deliveries = plan_deliveries(message, settings, NIGHT)
    deliver_due(deliveries, message, settings, channels, NIGHT)
    for d in deliveries:
        [outcome] = d.events
        assert new_event(outcome.type, outcome.payload, source="notifications").payload[
            "attempts"] == 1


def test_an_address_removed_after_planning_fails_the_delivery_without_retrying(
        local_http, smtp_server):
    settings, channels, *_ = world(local_http, smtp_server)
    e = event("match.proposed", match_payload(urgency="urgent"), occurred_at=NIGHT)
    message = message_for(e, recipients(e)[0].kind)
    [sms_delivery] = [d for d in plan_deliveries(message, settings, NIGHT) if d.channel == "sms"]
    outcome = channels.send(sms_delivery, message, agency(phone=None))
    assert not outcome.ok and not outcome.retryable and outcome.detail == "agency has no phone number set"


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning():
    evening = NIGHT - timedelta(hours=2, seconds=1)  # 20:59:59 in New York
    delivery = Delivery.create("ev-1", "match.proposed", "ag-peers", "email", evening)
    delivery.record_attempt(SendOutcome(False, "SMTP 451 (x)", True), evening,
                            DeliveryRetryPolicy(), random.Random(1))
    respect_quiet_hours(delivery, agency(), "routine")
    assert (delivery.status, delivery.next_attempt_at) == (DEFERRED, MORNING)

    urgent = Delivery.create("ev-2", "match.proposed", "ag-peers", "email", evening)
    urgent.record_attempt(SendOutcome(False, "SMTP 451 (x)", True), evening,
                          DeliveryRetryPolicy(), random.Random(1))
    respect_quiet_hours(urgent, agency(), "urgent")
    assert urgent.status == PENDING and urgent.next_attempt_at < NIGHT
