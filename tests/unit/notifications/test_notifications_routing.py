"""Who hears what, and when urgent proposals escalate to network admins."""

from datetime import timedelta

from notification_builders import (
    NOW,
    event,
    match_payload,
    revoked_payload,
    status_payload,
    waitlisted_payload,
)

from services.notifications.domain.routing import (
    PendingProposal,
    Recipient,
    due_escalations,
    recipients,
)


def test_mentor_agency_hears_of_a_proposed_match():
    assert recipients(event("match.proposed", match_payload())) == [
        Recipient("ag-peers", "match.proposed")]


def test_referrer_hears_of_every_status_change_and_of_a_waitlist():
    for to_status in ("accepted", "in-progress", "completed", "cancelled"):
        e = event("referral.status_changed", status_payload(to_status=to_status))
        assert recipients(e) == [("ag-hospital", "referral.status_changed")]
    assert recipients(event("match.waitlisted", waitlisted_payload())) == [
        ("ag-hospital", "match.waitlisted")]


def test_agencies_that_received_a_handoff_hear_that_consent_ended():
    handoffs = {"ag-peers", "ag-other-peers"}
    revoked = event("consent.revoked", revoked_payload())
    expired = event("consent.expired", {"consent_id": "cn-1", "participant_id": "pt-1"})
    assert recipients(revoked, handoffs) == [("ag-other-peers", "consent.revoked"),
                                             ("ag-peers", "consent.revoked")]
    assert recipients(expired, handoffs) == [("ag-other-peers", "consent.expired"),
                                             ("ag-peers", "consent.expired")]
    assert recipients(revoked) == []


def test_partial_revocation_tells_only_the_agencies_it_takes_off():
    payload = revoked_payload(full=False, revoked={"agencies": ["ag-peers"], "classes": []},
                              remaining={"agencies": ["ag-other-peers"], "classes": []})
    e = event("consent.revoked", payload)
    assert recipients(e, {"ag-peers", "ag-other-peers"}) == [("ag-peers", "consent.revoked")]


def test_class_revocation_spares_an_agency_still_named_by_id():
    payload = revoked_payload(full=False, revoked={"agencies": [], "classes": ["peer_group"]},
                              remaining={"agencies": ["ag-peers"], "classes": []})
    e = event("consent.revoked", payload)
    assert recipients(e, {"ag-peers", "ag-other-peers"}) == [("ag-other-peers", "consent.revoked")]


def test_events_nobody_needs_to_hear_of_route_nowhere():
    assert recipients(event("match.accepted", match_payload())) == []
    assert recipients(event("notification.delivered", {
        "notification_id": "n", "agency_id": "a", "channel": "sms", "attempts": 1,
        "event_id": "e", "event_type": "match.proposed"})) == []


def proposal(match_id="mt-1", urgency="urgent", age=timedelta(minutes=45)):
    return PendingProposal(match_id, "rf-1", "ag-hospital", "ag-peers", urgency, NOW - age)


def test_urgent_proposal_unanswered_past_the_limit_escalates_to_each_network_admin():
    due = due_escalations([proposal()], NOW, ["ag-admin-2", "ag-admin-1"],
                          after=timedelta(minutes=30))
    assert [e.recipient for e in due] == [("ag-admin-1", "referral.escalated"),
                                          ("ag-admin-2", "referral.escalated")]
    message = due[0].message
    assert message.urgency == "urgent" and message.kind == "referral.escalated"
    assert message.data["referral_id"] == "rf-1" and message.data["mentor_agency_id"] == "ag-peers"
    assert due[0].message.id == due[1].message.id  # one message, deduplicated per recipient


def test_young_or_routine_proposals_do_not_escalate():
    pending = [proposal("young", age=timedelta(minutes=10)), proposal("calm", urgency="routine",
                                                                      age=timedelta(days=2))]
    assert due_escalations(pending, NOW, ["ag-admin"], after=timedelta(minutes=30)) == []


def test_the_escalation_limit_is_configurable_and_inclusive():
    p = proposal(age=timedelta(hours=2))
    assert due_escalations([p], NOW, ["ag-admin"], after=timedelta(hours=3)) == []
    assert len(due_escalations([p], NOW, ["ag-admin"], after=timedelta(hours=2))) == 1


def test_escalation_id_is_stable_so_a_second_run_reuses_the_delivery_key():
    first = due_escalations([proposal()], NOW, ["ag-admin"])[0].message.id
    later = due_escalations([proposal()], NOW + timedelta(hours=1), ["ag-admin"])[0].message.id
    assert first == later


def test_pending_proposal_comes_from_the_match_proposed_event():
    e = event("match.proposed", match_payload(urgency="urgent"))
    p = PendingProposal.from_event(e)
    assert (p.match_id, p.urgency, p.proposed_at, p.mentor_agency_id) == (
        "mt-1", "urgent", NOW, "ag-peers")
