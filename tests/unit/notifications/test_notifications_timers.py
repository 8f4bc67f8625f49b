"""The timer's handlers on a fake unit of work: escalating unanswered urgent proposals, and
sending due deliveries with retries, quiet hours and outcome events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fake_repositories import repository, unit_of_work
from notification_builders import NOW, agency, event, match_payload

from services.notifications.domain.delivery import DEFERRED, FAILED, PENDING, SENT
from services.notifications.domain.outcome import SendOutcome
from services.notifications.domain.retry import DeliveryRetryPolicy, DispatchPolicy
from services.notifications.domain.settings import QuietHours
from services.notifications.handlers.dispatch import dispatch_due
from services.notifications.handlers.escalation import escalate
from services.notifications.handlers.events import notify

PEERS, ADMIN = "ag-peers", "ag-admin"
HALF_HOUR = timedelta(minutes=30)
POLICY = DispatchPolicy(retry=DeliveryRetryPolicy(max_attempts=3))


class FakeChannels:
    """Answers each channel as told; asserts no transaction is open while it sends."""

    def __init__(self, uow, **outcomes: SendOutcome | Exception) -> None:
        self.uow, self.outcomes, self.sent = uow, outcomes, []

    def send(self, delivery, message, settings) -> SendOutcome:
        assert self.uow.session is None, "sent while a transaction was open"
        self.sent.append((delivery.channel, message.id, settings.agency_id))
        outcome = self.outcomes.get(delivery.channel, SendOutcome.sent())
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def proposed(uow, urgency="routine", minutes_ago=0, match_id="mt-1"):
    at = NOW - timedelta(minutes=minutes_ago)
    uow.handle(event("match.proposed", match_payload(urgency=urgency, match_id=match_id), at), notify, at)


def statuses(uow, agency_id=PEERS):
    return {d.channel: d.status for d in repository(uow, "deliveries").of(agency_id)}


def test_an_urgent_proposal_unanswered_for_half_an_hour_escalates_once_to_network_admins():
    uow = unit_of_work(agency(ADMIN, agency_kind="operator", roles=("operator",)))
    proposed(uow, "urgent", minutes_ago=31)
    proposed(uow, "routine", minutes_ago=31, match_id="mt-routine")
    proposed(uow, "urgent", minutes_ago=5, match_id="mt-recent")
    assert escalate(uow, NOW, HALF_HOUR) == 3  # webhook, email and SMS to the one admin agency
    assert {d.event_type for d in repository(uow, "deliveries").of(ADMIN)} == {"referral.escalated"}
    assert [p.match_id for p in repository(uow, "pending_proposals").unescalated()] == ["mt-recent"]
    assert escalate(uow, NOW + timedelta(minutes=1), HALF_HOUR) == 0
    assert len(repository(uow, "deliveries").of(ADMIN)) == 3


def test_an_answered_proposal_never_escalates():
    uow = unit_of_work(agency(ADMIN, agency_kind="operator", roles=("operator",)))
    proposed(uow, "urgent", minutes_ago=40)
    uow.handle(event("match.declined", match_payload(urgency="urgent")), notify, NOW)
    assert escalate(uow, NOW, HALF_HOUR) == 0
    assert repository(uow, "deliveries").of(ADMIN) == []


def test_dispatch_sends_due_deliveries_outside_a_transaction_and_publishes_their_outcomes():
    uow = unit_of_work(agency(PEERS))
    proposed(uow)
    channels = FakeChannels(uow, sms=SendOutcome.from_http_status(400))
    assert dispatch_due(uow, channels, lambda: NOW, POLICY) == 3
    assert statuses(uow) == {"email": SENT, "sms": FAILED, "webhook": SENT}
    assert sorted(e.type for e in uow.published) == [
        "notification.delivered", "notification.delivered", "notification.failed"]
    failed = next(e for e in uow.published if e.type == "notification.failed")
    assert failed.payload["channel"] == "sms" and failed.payload["agency_id"] == PEERS
    assert dispatch_due(uow, channels, lambda: NOW, POLICY) == 0  # nothing is due any more
    assert len(channels.sent) == 3


def test_a_batch_is_recorded_in_one_transaction_and_a_claim_lost_while_sending_is_left_alone():
    uow = unit_of_work(agency(PEERS))
    proposed(uow)
    deliveries = repository(uow, "deliveries")

    class TakenOver(FakeChannels):
        def send(self, delivery, message, settings) -> SendOutcome:
            if delivery.channel == "sms":  # its lease ran out and another dispatcher took it
                deliveries.rows[delivery.id]["claim"] = "another dispatcher"
            return super().send(delivery, message, settings)

    before = uow.commits
    assert dispatch_due(uow, TakenOver(uow), lambda: NOW, POLICY) == 3
    assert uow.commits - before == 2  # the claim, then every outcome together
    assert statuses(uow) == {"email": SENT, "sms": PENDING, "webhook": SENT}
    assert sorted(e.type for e in uow.published) == ["notification.delivered"] * 2


def test_a_busy_receiver_is_tried_again_later_until_attempts_run_out():
    uow = unit_of_work(agency(PEERS, email=None, phone=None))
    proposed(uow)
    channels = FakeChannels(uow, webhook=SendOutcome.from_http_status(503))
    clock = [NOW]
    dispatch_due(uow, channels, lambda: clock[0], POLICY)
    [delivery] = repository(uow, "deliveries").of(PEERS)
    assert delivery.status == PENDING and delivery.next_attempt_at > NOW and uow.published == []
    assert dispatch_due(uow, channels, lambda: clock[0], POLICY) == 0  # not due yet
    for _ in range(2):
        clock[0] += timedelta(hours=1)
        assert dispatch_due(uow, channels, lambda: clock[0], POLICY) == 1
    assert statuses(uow) == {"webhook": FAILED}
    assert [e.type for e in uow.published] == ["notification.failed"]
    assert uow.published[0].payload["attempts"] == 3


def test_quiet_hours_set_after_planning_hold_email_but_not_webhooks():
    uow = unit_of_work(agency(PEERS, phone=None))
    proposed(uow)
    settings = repository(uow, "settings")
    settings.stored[PEERS] = agency(PEERS, phone=None, quiet_hours=QuietHours.parse("00:00", "23:59", "UTC"))
    channels = FakeChannels(uow)
    assert dispatch_due(uow, channels, lambda: NOW, POLICY) == 1
    assert [c for c, _, _ in channels.sent] == ["webhook"]
    assert statuses(uow) == {"email": DEFERRED, "webhook": SENT}


@pytest.mark.parametrize("outcome", [RuntimeError("template broke"), None])
def test_a_broken_send_or_a_vanished_agency_fails_that_delivery_only(outcome):
    uow = unit_of_work(agency(PEERS, phone=None))
    proposed(uow)
    if outcome is None:
        del repository(uow, "settings").stored[PEERS]
        channels = FakeChannels(uow)
    else:
        channels = FakeChannels(uow, email=outcome)
    assert dispatch_due(uow, channels, lambda: NOW, POLICY) == 2
    expected = {"email": FAILED, "webhook": FAILED} if outcome is None else {"email": FAILED, "webhook": SENT}
    assert statuses(uow) == expected
    assert "notification.failed" in [e.type for e in uow.published]


def test_an_outcome_is_not_recorded_once_the_claim_was_taken_over():
    uow = unit_of_work(agency(PEERS, email=None, phone=None))
    proposed(uow)
    deliveries = repository(uow, "deliveries")

    def send_after_the_lease_ran_out(send, items):
        for item in items:
            deliveries.rows[item.delivery.id]["claim"] = "another-dispatcher"
            yield send(item)

    dispatch_due(uow, FakeChannels(uow), lambda: NOW, POLICY, send_all=send_after_the_lease_ran_out)
    [delivery] = deliveries.of(PEERS)
    assert delivery.status == PENDING and delivery.attempts == [] and uow.published == []
    assert delivery.next_attempt_at == NOW + POLICY.lease
