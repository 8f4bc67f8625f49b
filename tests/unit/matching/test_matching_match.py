"""The match aggregate: which transitions a proposal allows, and the events each one records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from matching_builders import criteria, mentor

from services.kit.contract import new_event
from services.matching.domain import proposal_for
from services.matching.domain.match import Match, MatchNotOpen, waitlisted
from services.matching.domain.referral import Referral

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(hours=48)


def proposed() -> Match:
    match = Match.propose("match-1", proposal_for(mentor(), criteria()), NOW, TTL)
    match.events.clear()
    return match


def test_a_proposal_records_match_proposed_with_the_explanation_and_expiry():
    match = Match.propose("match-1", proposal_for(mentor(), criteria()), NOW, TTL)
    [event] = match.events
    assert (match.status, match.expires_at) == ("proposed", NOW + TTL)
    assert event.type == "match.proposed" and event.aggregate_id == "referral-1"
    assert event.payload["expires_at"] == (NOW + TTL).isoformat()
    assert event.payload["reason_code"] is None
    assert event.payload["explanation"] and event.payload["score"] == match.score
    new_event(event.type, event.payload, source="matching")  # the contract accepts it


def test_accept_is_allowed_only_while_proposed_and_not_expired():
    match = proposed()
    assert match.accept(NOW + TTL - timedelta(seconds=1)) is True
    assert (match.status, [e.type for e in match.events]) == ("accepted", ["match.accepted"])
    assert match.accept(NOW + TTL) is False  # again: nothing changes, nothing recorded
    assert len(match.events) == 1

    late = proposed()
    with pytest.raises(MatchNotOpen):
        late.accept(NOW + TTL)
    assert (late.status, late.events) == ("proposed", [])


def test_decline_needs_a_reason_code_and_publishes_it():
    match = proposed()
    with pytest.raises(ValueError):
        match.decline("Mentor is on leave next month", NOW)
    assert (match.status, match.events) == ("proposed", [])
    assert match.decline("capacity", NOW) is True
    [event] = match.events
    assert (match.status, match.reason_code, event.type) == ("declined", "capacity", "match.declined")
    assert event.payload["reason_code"] == "capacity"
    assert match.decline("other", NOW) is False
    with pytest.raises(MatchNotOpen):
        match.accept(NOW)


def test_only_a_due_proposal_expires():
    match = proposed()
    with pytest.raises(MatchNotOpen):
        match.expire(NOW + TTL - timedelta(minutes=1))
    match.expire(NOW + TTL)
    assert (match.status, match.events[0].type, match.events[0].payload["reason_code"]) == (
        "expired", "match.expired", "ttl")
    with pytest.raises(MatchNotOpen):
        match.decline("capacity", NOW + TTL)


def test_withdrawing_an_accepted_match_frees_its_place_once():
    match = proposed()
    match.accept(NOW)
    assert match.withdraw("consent_revoked", NOW) is True
    assert (match.status, match.released_at, match.events[-1].type) == ("withdrawn", NOW, "match.withdrawn")
    assert match.events[-1].payload["reason_code"] == "consent_revoked"
    with pytest.raises(MatchNotOpen):
        match.withdraw("consent_revoked", NOW)

    released = proposed()
    released.accept(NOW)
    assert released.release(NOW) is True and released.release(NOW) is False
    assert released.withdraw("consent_expired", NOW) is False  # its place was freed already
    assert proposed().withdraw("rebalanced", NOW) is False  # a proposal held no place


def test_a_referral_nobody_fits_is_waitlisted_with_its_reason():
    payload = {**criteria().to_requested_fields(), "participant_id": "p-1", "consent_id": "c-1"}
    event = waitlisted(Referral.requested(payload, NOW))
    assert (event.type, event.aggregate_id) == ("match.waitlisted", "referral-1")
    assert event.payload == {"referral_id": "referral-1", "referrer_agency_id": "agency-st-mary",
                             "urgency": "routine", "reason_code": "no_fitting_mentor"}
