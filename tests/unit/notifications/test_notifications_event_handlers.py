"""The event router on a fake unit of work: who gets which deliveries, and what routing remembers."""

from __future__ import annotations

from datetime import timedelta

from fake_repositories import repository, unit_of_work
from notification_builders import NOW, agency, event, match_payload, revoked_payload, status_payload

from services.notifications.domain.delivery import DEFERRED, PENDING
from services.notifications.domain.settings import QuietHours
from services.notifications.handlers.events import notify

PEERS, HOSPITAL = "ag-peers", "ag-hospital"


def handle(uow, evt, now=NOW) -> bool:
    return uow.handle(evt, notify, now)


def channels_of(uow, agency_id):
    return [(d.channel, d.status, d.event_type) for d in repository(uow, "deliveries").of(agency_id)]


def test_a_proposal_plans_one_delivery_per_configured_channel_for_the_mentor_agency():
    uow = unit_of_work(agency(PEERS), agency(HOSPITAL, agency_kind="hospital"))
    proposed = event("match.proposed", match_payload())
    assert handle(uow, proposed)
    assert channels_of(uow, PEERS) == [("email", PENDING, "match.proposed"),
                                       ("sms", PENDING, "match.proposed"),
                                       ("webhook", PENDING, "match.proposed")]
    assert channels_of(uow, HOSPITAL) == []
    assert {d.event_id for d in repository(uow, "deliveries").of(PEERS)} == {proposed.id}
    assert uow.commits == 1 and uow.published == []


def test_an_agency_without_settings_hears_nothing():
    uow = unit_of_work()
    with uow:
        assert notify(event("match.proposed", match_payload()), uow, NOW) == 0
    assert repository(uow, "deliveries").rows == {}


def test_a_redelivered_event_plans_nothing_twice():
    uow = unit_of_work(agency(PEERS))
    proposed = event("match.proposed", match_payload())
    assert handle(uow, proposed) and not handle(uow, proposed)
    with uow:  # past the inbox too: the delivery keys stop a second plan
        assert notify(proposed, uow, NOW) == 0
    assert len(channels_of(uow, PEERS)) == 3


def test_email_and_sms_wait_for_the_end_of_quiet_hours_but_webhooks_do_not():
    night = QuietHours.parse("00:00", "23:59", "UTC")
    uow = unit_of_work(agency(PEERS, quiet_hours=night))
    handle(uow, event("match.proposed", match_payload()))
    assert [(c, s) for c, s, _ in channels_of(uow, PEERS)] == [
        ("email", DEFERRED), ("sms", DEFERRED), ("webhook", PENDING)]
    assert all(d.next_attempt_at > NOW for d in repository(uow, "deliveries").of(PEERS)
               if d.status == DEFERRED)


def test_the_referrer_hears_of_its_referrals_status_changes():
    uow = unit_of_work(agency(HOSPITAL, agency_kind="hospital"))
    handle(uow, event("referral.status_changed", status_payload()))
    assert {c for c, _, kind in channels_of(uow, HOSPITAL)
            if kind == "referral.status_changed"} == {"email", "webhook"}


def test_an_agency_that_received_a_handoff_hears_when_the_consent_ends_for_it():
    uow = unit_of_work(agency(PEERS), agency("ag-other"))
    handle(uow, event("referral.status_changed",
                      status_payload(from_status="requested", to_status="accepted")))
    assert repository(uow, "handoffs").agencies_of("pt-1") == [PEERS]
    handle(uow, event("consent.revoked", revoked_payload()))
    assert [(c, k) for c, _, k in channels_of(uow, PEERS) if k.startswith("consent")] == [
        ("email", "consent.revoked"), ("webhook", "consent.revoked")]
    assert channels_of(uow, "ag-other") == []


def test_a_revocation_heard_before_the_acceptance_it_followed_still_tells_the_agency():
    # Two services publish these; a replica may take the consent's end first.
    uow = unit_of_work(agency(PEERS))
    accepted = event("referral.status_changed",
                     status_payload(from_status="requested", to_status="accepted"),
                     NOW - timedelta(minutes=2))
    revoked = event("consent.revoked", revoked_payload(), NOW - timedelta(minutes=1))
    handle(uow, revoked)
    assert [k for _, _, k in channels_of(uow, PEERS) if k.startswith("consent")] == []
    handle(uow, accepted)
    told = [(c, k) for c, _, k in channels_of(uow, PEERS) if k.startswith("consent")]
    assert told == [("email", "consent.revoked"), ("webhook", "consent.revoked")]
    assert repository(uow, "handoffs").held == ["pt-1", "pt-1"]
    # Either event again plans nothing more.
    handle(uow, revoked)
    handle(uow, accepted)
    assert [(c, k) for c, _, k in channels_of(uow, PEERS) if k.startswith("consent")] == told


def test_in_order_the_agency_is_told_once_and_an_earlier_ending_tells_a_later_handoff_nothing():
    uow = unit_of_work(agency(PEERS), agency("ag-later"))
    handle(uow, event("referral.status_changed",
                      status_payload(from_status="requested", to_status="accepted"),
                      NOW - timedelta(minutes=2)))
    handle(uow, event("consent.revoked", revoked_payload(), NOW - timedelta(minutes=1)))
    # A later referral of the same person, under a consent given afterwards, is handed to another.
    handle(uow, event("referral.status_changed", status_payload(
        referral_id="rf-2", from_status="requested", to_status="accepted",
        assigned_agency_id="ag-later")))
    assert [k for _, _, k in channels_of(uow, PEERS) if k.startswith("consent")] == [
        "consent.revoked", "consent.revoked"]
    assert [k for _, _, k in channels_of(uow, "ag-later") if k.startswith("consent")] == []


def test_a_partial_revocation_heard_first_tells_a_kept_agency_nothing_on_its_acceptance():
    uow = unit_of_work(agency(PEERS))
    handle(uow, event("consent.revoked", revoked_payload(
        full=False, revoked={"agencies": ["ag-elsewhere"], "classes": []},
        remaining={"agencies": [PEERS], "classes": []}), NOW - timedelta(minutes=1)))
    handle(uow, event("referral.status_changed",
                      status_payload(from_status="requested", to_status="accepted"),
                      NOW - timedelta(minutes=2)))
    assert [k for _, _, k in channels_of(uow, PEERS) if k.startswith("consent")] == []


def test_a_partial_revocation_that_keeps_the_agency_tells_it_nothing():
    uow = unit_of_work(agency(PEERS))
    handle(uow, event("referral.status_changed",
                      status_payload(from_status="requested", to_status="accepted")))
    handle(uow, event("consent.revoked", revoked_payload(
        full=False, revoked={"agencies": ["ag-elsewhere"], "classes": []},
        remaining={"agencies": [PEERS], "classes": []})))
    assert [k for _, _, k in channels_of(uow, PEERS) if k.startswith("consent")] == []


def test_urgent_proposals_are_remembered_until_answered_and_routine_ones_never():
    uow = unit_of_work()
    pending = repository(uow, "pending_proposals")
    handle(uow, event("match.proposed", match_payload(match_id="mt-routine")))
    handle(uow, event("match.proposed", match_payload(urgency="urgent"), NOW - timedelta(minutes=5)))
    [waiting] = pending.unescalated()
    assert (waiting.match_id, waiting.proposed_at) == ("mt-1", NOW - timedelta(minutes=5))
    handle(uow, event("match.accepted", match_payload(urgency="urgent")))
    assert pending.unescalated() == []


def test_a_peer_group_hears_that_its_mentor_certification_expires_soon():
    uow = unit_of_work(agency(PEERS), agency(HOSPITAL, agency_kind="hospital"))
    expiring = event("mentor.certification_expiring",
                     {"mentor_id": "mn-1", "agency_id": PEERS, "days": 30, "days_left": 30})
    assert handle(uow, expiring)
    assert channels_of(uow, PEERS) == [("email", PENDING, "mentor.certification_expiring"),
                                       ("webhook", PENDING, "mentor.certification_expiring")]
    assert channels_of(uow, HOSPITAL) == []
