"""Who may move a referral, see it, or receive its handoff; and what consent ending does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from referral_builders import PEER_GROUP, REFERRER, STRANGER, T0, match, referral_in

from services.kit.errors import Conflict, ConsentRequired, Forbidden, InvalidRequest, NotFound
from services.referrals.domain.views import referral_view

LATER = T0 + timedelta(days=1)


@pytest.mark.parametrize("status", ["requested", "accepted", "in-progress", "on-hold"])
def test_a_stranger_gets_not_found_for_every_action(status):
    referral = referral_in(status)
    with pytest.raises(NotFound):
        referral.cancel(by=STRANGER, reason="x", at=LATER)
    with pytest.raises(NotFound):
        referral.report_status(by=STRANGER, status="in-progress", reason="x", at=LATER)
    with pytest.raises(NotFound):
        referral.ensure_handoff_for(STRANGER)
    with pytest.raises(NotFound):
        referral_view(referral, STRANGER)
    assert referral.status == status


def test_a_peer_group_sees_nothing_before_it_is_assigned():
    referral = referral_in("requested")
    with pytest.raises(NotFound):
        referral.report_status(by=PEER_GROUP, status="in-progress", reason=None, at=LATER)


@pytest.mark.parametrize("status", ["accepted", "in-progress", "on-hold"])
def test_only_the_referrer_cancels(status):
    referral = referral_in(status)
    with pytest.raises(Forbidden):
        referral.cancel(by=PEER_GROUP, reason="no capacity", at=LATER)
    referral.cancel(by=REFERRER, reason="participant moved away", at=LATER)
    assert referral.status == "cancelled"
    assert referral.history[-1].by == REFERRER


def test_the_referrer_may_cancel_before_any_match():
    referral = referral_in("requested")
    referral.cancel(by=REFERRER, reason="admitted elsewhere", at=LATER)
    assert referral.status == "cancelled"


@pytest.mark.parametrize(("current", "target"), [
    ("accepted", "in-progress"), ("in-progress", "completed"), ("on-hold", "failed"),
])
def test_the_referrer_does_not_report_progress(current, target):
    referral = referral_in(current)
    with pytest.raises(Forbidden):
        referral.report_status(by=REFERRER, status=target, reason="x", at=LATER)
    assert referral.status == current


@pytest.mark.parametrize("current", ["accepted", "in-progress", "on-hold"])
def test_the_peer_group_cannot_cancel_through_a_status_report(current):
    referral = referral_in(current)
    with pytest.raises(Forbidden):
        referral.report_status(by=PEER_GROUP, status="cancelled", reason="x", at=LATER)


def test_accepting_a_match_assigns_the_peer_group_and_opens_the_handoff():
    referral = referral_in("requested")
    referral.accept_match(match("m-9"), permitted=True, at=LATER)
    assert (referral.status, referral.assigned_agency_id) == ("accepted", PEER_GROUP)
    assert referral.match.match_id == "m-9" and referral.handoff_open
    entry = referral.history[-1]
    assert (entry.by, entry.reason_code) == ("network", "match_accepted")
    assert referral.events[-1].assigned_agency_id == PEER_GROUP
    referral.ensure_handoff_for(PEER_GROUP)


def test_accepting_without_a_fresh_permit_changes_nothing():
    referral = referral_in("requested")
    with pytest.raises(ConsentRequired):
        referral.accept_match(match(), permitted=False, at=LATER)
    assert referral.status == "requested" and referral.assigned_agency_id is None
    assert not referral.handoff_open and referral.events == []


def test_a_redelivered_acceptance_changes_nothing():
    referral = referral_in("accepted")
    referral.accept_match(match(), permitted=True, at=LATER)
    assert len(referral.history) == 2 and referral.events == []


@pytest.mark.parametrize(("code", "status"), [
    ("consent_revoked", "accepted"), ("consent_expired", "in-progress"),
    ("consent_revoked", "requested"), ("consent_expired", "on-hold"),
])
def test_consent_ending_cancels_and_closes_the_handoff(code, status):
    referral = referral_in(status)
    assert referral.end_by_consent(reason_code=code, at=LATER) is True
    assert referral.status == "cancelled" and not referral.handoff_open
    entry = referral.history[-1]
    assert (entry.by, entry.reason, entry.reason_code) == ("network", None, code)
    assert referral.events[-1].reason_code == code
    if referral.assigned_agency_id:
        with pytest.raises(Conflict):
            referral.ensure_handoff_for(PEER_GROUP)


@pytest.mark.parametrize("status", ["rejected", "completed", "failed", "cancelled"])
def test_consent_ending_leaves_final_referrals_alone(status):
    referral = referral_in(status)
    assert referral.end_by_consent(reason_code="consent_revoked", at=LATER) is False
    assert referral.status == status and referral.events == []


def test_only_consent_codes_end_by_consent():
    with pytest.raises(ValueError):
        referral_in("accepted").end_by_consent(reason_code="stated", at=LATER)


def test_rejection_needs_a_code():
    referral = referral_in("requested")
    with pytest.raises(InvalidRequest):
        referral.reject(reason_code="", at=LATER)


def test_the_handoff_is_for_the_assigned_peer_group_while_work_is_open():
    with pytest.raises(Forbidden):
        referral_in("accepted").ensure_handoff_for(REFERRER)
    for status in ("accepted", "in-progress", "on-hold"):
        referral_in(status).ensure_handoff_for(PEER_GROUP)
    for status in ("completed", "failed"):
        with pytest.raises(Conflict):
            referral_in(status).ensure_handoff_for(PEER_GROUP)


@pytest.mark.parametrize(("status", "remaining", "covered"), [
    ("accepted", {"agencies": [PEER_GROUP], "classes": []}, True),
    ("accepted", {"agencies": [], "classes": ["peer_group"]}, True),
    ("accepted", {"agencies": ["agency-other"], "classes": []}, False),
    ("requested", {"agencies": ["agency-other"], "classes": []}, True),
    ("requested", {"agencies": [], "classes": []}, False),
])
def test_partial_revocation_keeps_referrals_it_still_covers(status, remaining, covered):
    assert referral_in(status).still_covered_by(remaining) is covered


def test_the_reason_and_exact_needs_are_shown_to_the_referrer_only():
    referral = referral_in("in-progress")
    mine = referral_view(referral, REFERRER)
    theirs = referral_view(referral, PEER_GROUP)
    assert mine["reason"] == "peer support after detox discharge" and mine["needs"]["age"] == 36
    assert "reason" not in theirs and "needs" not in theirs
    assert theirs["match"]["id"] == "match-1"
    assert [h["status"] for h in theirs["history"]] == ["requested", "accepted", "in-progress"]


def test_no_agency_outside_the_referral_sees_it():
    with pytest.raises(NotFound):
        referral_view(referral_in("on-hold"), STRANGER)
