"""Email to a real SMTP server and text messages to a Twilio-shaped HTTP server, in the
recipient's language and outside their quiet hours."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest

from tests.integration.notifications.agencies import PEERS
from tests.integration.notifications.receivers import SMS_ACCOUNT, SMS_FROM, SMS_TOKEN, publish
from tests.support import wait_for
from tests.unit.notifications.notification_builders import match_payload

NIGHT_IN_NEW_YORK = datetime(2026, 11, 4, 4, 0, tzinfo=UTC)  # 23:00 the evening before
MORNING_IN_NEW_YORK = datetime(2026, 11, 4, 12, 0, 1, tzinfo=UTC)  # 07:00:01
QUIET = {"start": "21:00", "end": "07:00", "timezone": "America/New_York"}

# Storage plays no part in what these tests prove: once on SQLite is enough.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_email_reaches_the_smtp_server_in_the_recipients_language(notifications, config, inbox):
    mails, _port = inbox
    notifications.put_settings(PEERS, {"email": "intake@peers.example", "language": "es"})

    publish(config["AMQP_URI"], "match.proposed", match_payload())

    mail = wait_for(lambda: mails.mails)[0]
    assert mail["To"] == "intake@peers.example"
    assert mail["Content-Language"] == "es"
    assert mail["Subject"] == "Propuesta de mentor para la derivación rf-1"
    assert "Revise la propuesta" in mail.get_content()
    assert "https://network.example/v1/matches?status=proposed" in mail.get_content()


@sqlite_only
def test_sms_reaches_the_provider_in_the_twilio_shape(notifications, config, sms_provider):
    notifications.put_settings(PEERS, {"phone": "+15555550123", "language": "es"})

    publish(config["AMQP_URI"], "match.proposed", match_payload(urgency="urgent"))

    request = wait_for(lambda: sms_provider.received)[0]
    assert request.path == f"/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages.json"
    credentials = base64.b64encode(f"{SMS_ACCOUNT}:{SMS_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert (form["To"], form["From"]) == ("+15555550123", SMS_FROM)
    assert form["Body"].startswith("URGENTE: Propuesta de mentor para la derivación rf-1.")
    sent = wait_for(lambda: [d for d in notifications.deliveries(PEERS)["items"]
                             if d["status"] == "sent"])
    assert sent[0]["attempts"][0]["http_status"] == 201


def test_quiet_hours_hold_a_routine_email_until_morning_and_let_an_urgent_one_through(
        timed_notifications, config, inbox, clock_file):
    mails, _port = inbox
    clock_file(NIGHT_IN_NEW_YORK)
    timed_notifications.put_settings(PEERS, {"email": "intake@peers.example", "quiet_hours": QUIET})
    uri = config["AMQP_URI"]

    publish(uri, "match.proposed", match_payload(match_id="mt-routine", referral_id="rf-routine"))
    publish(uri, "match.proposed", match_payload(match_id="mt-urgent", referral_id="rf-urgent",
                                                 urgency="urgent"))

    urgent = wait_for(lambda: mails.mails)[0]
    assert urgent["Subject"] == "[Urgent] Mentor match proposed for referral rf-urgent"
    held = wait_for(lambda: [d for d in timed_notifications.deliveries(PEERS)["items"]
                             if d["status"] == "deferred"])
    assert held[0]["next_attempt_at"] == "2026-11-04T12:00:00+00:00"
    assert held[0]["attempts"] == [] and len(mails.mails) == 1

    clock_file(MORNING_IN_NEW_YORK)
    wait_for(lambda: len(mails.mails) == 2)
    assert mails.mails[1]["Subject"] == "Mentor match proposed for referral rf-routine"
