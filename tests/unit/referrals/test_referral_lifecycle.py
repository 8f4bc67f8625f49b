"""The referral lifecycle: every status pair, the reason rules, history and recorded events."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from referral_builders import PEER_GROUP, REFERRER, T0, match, new_referral, referral_in

from services.kit.contract import new_event
from services.kit.errors import Conflict, ConsentRequired, InvalidRequest
from services.kit.vocabulary import REFERRAL_STATUSES
from services.referrals.domain import ReferralRequested, ReferralStatusChanged
from services.referrals.domain.rules import can_transition

# Written out from docs/api.md ("Referrals"), independently of the code under test.
ALLOWED_MOVES = {
    ("requested", "accepted"), ("requested", "rejected"), ("requested", "cancelled"),
    ("accepted", "in-progress"), ("accepted", "on-hold"), ("accepted", "cancelled"),
    ("in-progress", "on-hold"), ("in-progress", "completed"), ("in-progress", "failed"),
    ("in-progress", "cancelled"),
    ("on-hold", "in-progress"), ("on-hold", "cancelled"), ("on-hold", "failed"),
}
LATER = T0 + timedelta(days=1)
ALL_PAIRS = list(itertools.product(REFERRAL_STATUSES, repeat=2))


def attempt(referral, target: str) -> None:
    """Ask for ``target`` as the actor entitled to make that kind of move."""
    if target == "accepted":
        referral.accept_match(match("match-new"), permitted=True, at=LATER)
    elif target == "rejected":
        referral.reject(reason_code="no_peer_group_available", at=LATER)
    elif target == "cancelled":
        referral.cancel(by=REFERRER, reason="participant moved away", at=LATER)
    else:
        by = referral.assigned_agency_id or REFERRER
        referral.report_status(by=by, status=target, reason="stated why", at=LATER)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_lifecycle_allows_exactly_the_designed_moves(current, target):
    referral = referral_in(current)
    history_before = list(referral.history)

    if (current, target) in ALLOWED_MOVES:
        attempt(referral, target)
        assert referral.status == target
        assert referral.history[:-1] == history_before
        assert (referral.history[-1].status, referral.history[-1].at) == (target, LATER)
        [event] = referral.events
        assert (event.from_status, event.to_status) == (current, target)
    else:
        with pytest.raises(Conflict):
            attempt(referral, target)
        assert referral.status == current
        assert referral.history == history_before
        assert referral.events == []


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_transition_table_matches_the_design(current, target):
    assert can_transition(current, target) == ((current, target) in ALLOWED_MOVES)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_cancelling_without_a_reason_names_the_reason_field(reason):
    referral = referral_in("accepted")
    with pytest.raises(InvalidRequest) as caught:
        referral.cancel(by=REFERRER, reason=reason, at=LATER)
    assert "reason" in caught.value.errors
    assert referral.status == "accepted" and referral.events == []


@pytest.mark.parametrize(("current", "target"), [
    ("accepted", "on-hold"), ("in-progress", "on-hold"), ("in-progress", "failed"),
    ("on-hold", "failed"),
])
def test_pausing_or_failing_without_a_reason_is_refused(current, target):
    referral = referral_in(current)
    with pytest.raises(InvalidRequest) as caught:
        referral.report_status(by=PEER_GROUP, status=target, reason=None, at=LATER)
    assert list(caught.value.errors) == ["reason"]
    assert referral.status == current


@pytest.mark.parametrize(("current", "target"), [
    ("accepted", "in-progress"), ("in-progress", "completed"), ("on-hold", "in-progress"),
])
def test_progress_needs_no_reason(current, target):
    referral = referral_in(current)
    referral.report_status(by=PEER_GROUP, status=target, reason=None, at=LATER)
    assert referral.history[-1].reason is None
    assert referral.events[-1].reason_code is None


def test_a_written_reason_stays_in_history_and_is_published_as_other():
    referral = referral_in("in-progress")
    referral.report_status(by=PEER_GROUP, status="on-hold", reason=" inpatient stay ", at=LATER)
    entry = referral.history[-1]
    assert (entry.status, entry.by, entry.reason, entry.reason_code) == (
        "on-hold", PEER_GROUP, "inpatient stay", "other")
    assert referral.events == [ReferralStatusChanged(
        referral_id=referral.id, referrer_agency_id=REFERRER, assigned_agency_id=PEER_GROUP,
        participant_id="participant-1", urgency="routine", from_status="in-progress",
        to_status="on-hold", reason_code="other")]
    assert "inpatient" not in str(referral.events[0].payload())


def test_a_reason_code_is_shown_to_every_party_and_the_words_only_to_their_writer():
    referral = referral_in("in-progress")
    referral.report_status(by=PEER_GROUP, status="failed", reason="relapsed, readmitted to detox",
                           reason_code="unable-to-contact", at=LATER)
    assert referral.events[-1].reason_code == "unable-to-contact"
    entry = referral.history[-1]
    assert entry.as_dict(PEER_GROUP)["reason"] == "relapsed, readmitted to detox"
    for reader in (REFERRER, "agency-network-admin", None):
        seen = entry.as_dict(reader)
        assert (seen["reason_code"], seen["reason"]) == ("unable-to-contact", None)


def test_an_unknown_reason_code_is_refused():
    referral = referral_in("in-progress")
    with pytest.raises(InvalidRequest) as refused:
        referral.report_status(by=PEER_GROUP, status="on-hold", reason=None, reason_code="relapse", at=LATER)
    assert "reason_code" in refused.value.errors and referral.status == "in-progress"


def test_request_records_history_and_a_requested_event_without_personal_text():
    referral = new_referral(reason="peer support after detox discharge")
    assert referral.status == "requested"
    assert [e.as_dict(REFERRER) for e in referral.history] == [{
        "status": "requested", "at": T0.isoformat(), "by": REFERRER, "reason": None,
        "reason_code": None}]
    [event] = referral.events
    assert isinstance(event, ReferralRequested)
    assert event.allowed == {"agencies": [PEER_GROUP], "classes": ["peer_group"], "excluded": []}
    assert event.criteria["age_band"] == 35
    assert event.criteria["location"] == {"lat": 40.71, "lon": -74.01}
    assert "detox" not in str(event.payload())


def test_every_recorded_event_fits_the_contract():
    referral = new_referral()
    referral.accept_match(match(), permitted=True, at=LATER)
    referral.report_status(by=PEER_GROUP, status="in-progress", reason=None, at=LATER)
    referral.end_by_consent(reason_code="consent_revoked", at=LATER)
    assert len(referral.events) == 4
    for event in referral.events:
        published = new_event(event.type, event.payload(), source="referrals")
        assert published.payload == event.payload()


@pytest.mark.parametrize(("field", "overrides"), [
    ("reason", {"reason": "  "}),
    ("urgency", {"urgency": "whenever"}),
    ("needs.languages", {"needs": {"languages": []}}),
])
def test_request_refuses_incomplete_referrals_naming_the_field(field, overrides):
    with pytest.raises(InvalidRequest) as caught:
        new_referral(**overrides)
    assert list(caught.value.errors) == [field]


def test_request_needs_a_consent_that_covers_some_peer_group():
    with pytest.raises(ConsentRequired):
        new_referral(allowed={"agencies": [], "classes": ["hospital"]})


def test_unknown_status_is_invalid_not_a_conflict():
    referral = referral_in("accepted")
    with pytest.raises(InvalidRequest) as caught:
        referral.report_status(by=PEER_GROUP, status="paused", reason="x", at=LATER)
    assert "status" in caught.value.errors


def test_naive_timestamps_are_refused():
    referral = referral_in("accepted")
    with pytest.raises(ValueError):
        referral.report_status(by=PEER_GROUP, status="in-progress", reason=None,
                               at=datetime(2026, 11, 3, 9, 0))
    assert referral.status == "accepted" and len(referral.history) == 2
