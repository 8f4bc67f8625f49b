"""Matching's reactions to referrals' and consent's events, and the batch rebalance, through the
handlers on a fake unit of work: waitlisting, closing referrals, consent ending, the optimum."""

from __future__ import annotations

from dataclasses import replace

import pytest
from matching_builders import HARBOR
from matching_fakes import NOW
from matching_scenario import (
    BRIDGE,
    COORDINATOR,
    OTHER_COORDINATOR,
    POLICY,
    Network,
    consent_revoked,
    requested,
    status_changed,
)

from services.kit.messages import Caller
from services.matching import handlers
from services.matching.domain.commands import AcceptMatch, Rebalance


def accept(network: Network, referral_id: str, caller: Caller = COORDINATOR) -> None:
    handlers.accept_match(AcceptMatch(caller, network.live(referral_id).id), network.uow, NOW)


def test_a_request_is_proposed_at_once_or_waitlisted_and_counted_once():
    network = Network()
    network.mentor(id="mentor-1", capacity=1)
    event = requested("referral-1")
    assert network.handle(event) is True
    assert network.handle(event) is False  # redelivered: skipped
    network.handle(requested("referral-1"))  # the same request under another event id
    network.handle(requested("referral-2"))

    [proposed] = network.events("match.proposed")
    assert (proposed["referral_id"], proposed["mentor_id"]) == ("referral-1", "mentor-1")
    assert network.events("match.waitlisted", referral_id="referral-2", reason_code="no_fitting_mentor")
    assert network.events("match.waitlisted", referral_id="referral-1") == []


def test_criteria_the_domain_refuses_are_not_stored():
    network = Network()
    event = requested("referral-1")
    # Criteria from a newer producer than this consumer knows (the contract is checked elsewhere).
    refused = replace(event, payload={**event.payload, "urgency": "someday"})
    with pytest.raises(ValueError):
        network.uow.handle(refused, handlers.on_referral_requested, POLICY, NOW)
    assert network.referrals.get("referral-1") is None and network.uow.published == []


def test_a_request_with_refused_criteria_for_a_referral_already_ended_is_ignored():
    network = Network()
    network.handle(status_changed("overtaken-2", "cancelled"))
    event = requested("overtaken-2")
    network.handle(replace(event, payload={**event.payload, "urgency": "someday"}))
    assert network.uow.published == []
    assert network.referrals.get("overtaken-2").closed_reason == "referral_cancelled"


def test_a_closed_referral_withdraws_its_proposal_and_frees_an_accepted_place():
    network = Network()
    network.mentor(id="mentor-1", capacity=2)
    for referral_id in ("done-1", "cancelled-1", "waiting-1"):
        network.handle(requested(referral_id))
    accept(network, "done-1")
    assert network.caseload("mentor-1") == 1 and network.live("waiting-1") is None

    network.handle(status_changed("cancelled-1", "cancelled"))
    [withdrawn] = network.events("match.withdrawn")
    assert (withdrawn["referral_id"], withdrawn["reason_code"]) == ("cancelled-1", "referral_cancelled")
    assert network.live("waiting-1").mentor_id == "mentor-1"  # the held place went to the waitlist

    network.handle(status_changed("done-1", "in-progress", "accepted"))
    assert network.caseload("mentor-1") == 1  # still working together
    network.handle(status_changed("done-1", "completed", "in-progress"))
    assert network.caseload("mentor-1") == 0
    assert network.live("done-1").status == "accepted" and len(network.events("match.withdrawn")) == 1
    assert not network.referrals.get("done-1").is_open and network.referrals.get("done-1").criteria is None


def test_a_cancelled_referral_keeps_no_accepted_match_and_frees_its_place_once():
    network = Network()
    network.mentor(id="mentor-1", capacity=1)
    network.handle(requested("cancelled-1"))
    accept(network, "cancelled-1")
    network.handle(requested("waiting-1"))
    assert network.caseload("mentor-1") == 1 and network.live("waiting-1") is None

    network.handle(status_changed("cancelled-1", "cancelled", "accepted"))
    network.handle(status_changed("cancelled-1", "cancelled", "accepted"))  # another event id

    [withdrawn] = network.events("match.withdrawn", referral_id="cancelled-1")
    assert withdrawn["reason_code"] == "referral_cancelled"
    assert network.live("cancelled-1") is None
    assert network.caseload("mentor-1") == 0  # freed once, not twice
    assert network.live("waiting-1").mentor_id == "mentor-1"


def test_a_cancellation_that_overtakes_its_request_leaves_nothing_to_propose():
    network = Network()
    network.mentor(id="mentor-1")
    network.handle(status_changed("overtaken-1", "cancelled"))
    network.handle(requested("overtaken-1"))
    assert network.uow.published == []
    assert network.referrals.get("overtaken-1").closed_reason == "referral_cancelled"


def test_full_revocation_withdraws_accepted_and_proposed_matches_and_frees_their_places():
    network = Network()
    network.mentor(id="mentor-1", capacity=2)
    network.handle(requested("accepted-1"))
    accept(network, "accepted-1")
    network.handle(requested("proposed-1"))
    network.handle(requested("other-2", consent_id="consent-2"))
    assert network.live("other-2") is None

    network.handle(consent_revoked((HARBOR,), (), full=True))

    withdrawn = network.events("match.withdrawn", reason_code="consent_revoked")
    assert {w["referral_id"] for w in withdrawn} == {"accepted-1", "proposed-1"}
    assert network.caseload("mentor-1") == 0
    assert network.live("other-2").mentor_id == "mentor-1"
    assert not network.referrals.get("accepted-1").is_open


def test_partial_revocation_withdraws_only_the_agency_taken_off():
    network = Network()
    network.mentor(id="harbor-1")
    network.mentor(id="bridge-1", agency_id=BRIDGE, age=50)
    network.handle(requested("referral-1", agencies=(HARBOR, BRIDGE)))
    assert network.live("referral-1").mentor_id == "harbor-1"

    network.handle(consent_revoked((HARBOR,), (BRIDGE,), full=False))

    [withdrawn] = network.events("match.withdrawn")
    assert withdrawn["reason_code"] == "consent_revoked"
    assert network.live("referral-1").mentor_id == "bridge-1"
    assert network.referrals.get("referral-1").blocked_agencies == (HARBOR,)


def test_rebalance_moves_an_unaccepted_proposal_to_the_optimum_and_leaves_accepted_ones():
    network = Network()
    network.mentor(id="bilingual", capacity=1)
    network.mentor(id="english", languages={"en"}, pathways={"secular"}, capacity=1)
    network.mentor(id="steady", agency_id=BRIDGE, capacity=1)
    network.handle(requested("settled", agencies=(BRIDGE,)))
    accept(network, "settled", OTHER_COORDINATOR)
    network.handle(requested("first"))
    assert network.live("first").mentor_id == "bilingual"
    network.handle(requested("spanish-only", languages=["es"]))
    assert network.live("spanish-only") is None

    counts = handlers.rebalance(Rebalance(), network.uow, POLICY, NOW)

    assert counts == {"considered": 2, "kept": 0, "withdrawn": 1, "proposed": 2, "waitlisted": 0}
    [moved] = network.events("match.withdrawn")
    assert (moved["referral_id"], moved["reason_code"]) == ("first", "rebalanced")
    assert network.live("first").mentor_id == "english"
    assert network.live("spanish-only").mentor_id == "bilingual"
    assert network.live("settled").status == "accepted"
    assert handlers.rebalance(Rebalance(), network.uow, POLICY, NOW) == {
        "considered": 2, "kept": 2, "withdrawn": 0, "proposed": 0, "waitlisted": 0}
