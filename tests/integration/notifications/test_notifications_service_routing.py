"""Messages the service raises from what it remembers: escalations of unanswered urgent
proposals, and consent endings told to the agencies that received a handoff."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.integration.notifications.agencies import HOSPITAL, NETWORK_ADMIN, PEERS
from tests.integration.notifications.receivers import answers, publish
from tests.support import settle, wait_for
from tests.unit.notifications.notification_builders import (
    match_payload,
    revoked_payload,
    status_payload,
)

PROPOSED_AT = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


def types_received(hook) -> list[tuple[str, str | None]]:
    return [(b["type"], b["data"].get("match_id")) for b in map(json.loads, (r.body for r in hook.received))]


def test_an_urgent_proposal_nobody_answers_is_escalated_once_to_network_admins(
        timed_notifications, config, http_receiver, clock_file):
    clock_file(PROPOSED_AT)
    peers_hook, admin_hook = http_receiver(answers()), http_receiver(answers())
    timed_notifications.put_settings(PEERS, {"webhook_url": peers_hook.url})
    timed_notifications.put_settings(NETWORK_ADMIN, {"webhook_url": admin_hook.url})
    uri = config["AMQP_URI"]
    for match_id in ("mt-unanswered", "mt-answered", "mt-routine"):
        urgency = "routine" if match_id == "mt-routine" else "urgent"
        publish(uri, "match.proposed", match_payload(match_id=match_id, urgency=urgency),
                occurred_at=PROPOSED_AT)
    wait_for(lambda: len(peers_hook.received) == 3)
    publish(uri, "match.accepted", match_payload(match_id="mt-answered", urgency="urgent"))
    # A proposal published after the acceptance, once delivered, shows the service caught up.
    publish(uri, "match.proposed", match_payload(match_id="mt-marker"), occurred_at=PROPOSED_AT)
    wait_for(lambda: len(peers_hook.received) == 4)

    clock_file(PROPOSED_AT + timedelta(minutes=29))
    settle(0.3)
    assert admin_hook.received == []
    clock_file(PROPOSED_AT + timedelta(minutes=31))

    wait_for(lambda: admin_hook.received)
    settle(0.3)  # further timer ticks must not escalate again
    assert types_received(admin_hook) == [("referral.escalated", "mt-unanswered")]
    body = json.loads(admin_hook.received[0].body)
    assert body["data"]["proposed_at"] == PROPOSED_AT.isoformat()


def test_agencies_that_received_a_handoff_hear_that_the_consent_was_revoked(
        notifications, config, http_receiver):
    peers_hook, hospital_hook = http_receiver(answers()), http_receiver(answers())
    notifications.put_settings(PEERS, {"webhook_url": peers_hook.url})
    notifications.put_settings(HOSPITAL, {"webhook_url": hospital_hook.url})
    uri = config["AMQP_URI"]
    publish(uri, "referral.status_changed",
            status_payload(from_status="requested", to_status="accepted", participant_id="pt-7"))
    wait_for(lambda: hospital_hook.received)  # the referrer hears of the acceptance

    publish(uri, "consent.revoked", revoked_payload(participant_id="pt-7"))

    request = wait_for(lambda: peers_hook.received)[0]
    body = json.loads(request.body)
    assert (body["type"], body["data"]["participant_id"]) == ("consent.revoked", "pt-7")
    assert len(hospital_hook.received) == 1  # the referrer held the consent; it is not a recipient


def test_a_revocation_that_arrives_before_the_acceptance_it_followed_still_reaches_the_agency(
        notifications, config, http_receiver):
    peers_hook = http_receiver(answers())
    notifications.put_settings(PEERS, {"webhook_url": peers_hook.url})
    uri = config["AMQP_URI"]
    accepted_at = datetime.now(UTC) - timedelta(seconds=5)
    publish(uri, "consent.revoked", revoked_payload(participant_id="pt-8"),
            occurred_at=accepted_at + timedelta(seconds=1))
    settle(0.5)
    assert peers_hook.received == []  # nobody had the handoff yet
    publish(uri, "referral.status_changed",
            status_payload(from_status="requested", to_status="accepted", participant_id="pt-8"),
            occurred_at=accepted_at)

    request = wait_for(lambda: peers_hook.received)[0]
    body = json.loads(request.body)
    assert (body["type"], body["data"]["participant_id"]) == ("consent.revoked", "pt-8")
    settle(0.3)
    assert len(peers_hook.received) == 1
