"""A coordinator's decisions through the handlers, on a fake unit of work: accepting takes a
place, declining and expiry move the referral on to the next best mentor, another agency's
match does not exist, and nothing is published unless the unit of work commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from matching_fakes import NOW
from matching_scenario import (
    ADMIN,
    BRIDGE,
    COORDINATOR,
    HARBOR_ADMIN,
    OTHER_COORDINATOR,
    POLICY,
    Network,
    requested,
)

from services.kit.errors import Conflict, Forbidden, NotFound
from services.kit.messages import Caller
from services.matching import handlers
from services.matching.domain.commands import AcceptMatch, DeclineMatch, ExpireProposals, ListMatches

LATER = NOW + POLICY.proposal_ttl


def accept(network: Network, match_id: str, caller: Caller = COORDINATOR, at=NOW):
    return handlers.accept_match(AcceptMatch(caller, match_id), network.uow, at)


REASON = "capacity"  # the code; a coordinator's words never reach the handler


def decline(network: Network, match_id: str, caller: Caller = COORDINATOR):
    return handlers.decline_match(DeclineMatch(caller, match_id, REASON), network.uow, POLICY, NOW)


def expire(network: Network, at) -> int:
    return handlers.expire_proposals(ExpireProposals(), network.uow, POLICY, at)


def test_accepting_takes_a_place_and_publishes_match_accepted_once():
    network = Network()
    network.mentor(id="mentor-1")
    network.handle(requested("referral-1"))
    proposal = network.live("referral-1")

    accepted = accept(network, proposal.id)
    again = accept(network, proposal.id)

    assert (accepted.status, accepted.decided_at, again.status) == ("accepted", NOW, "accepted")
    assert network.caseload("mentor-1") == 1
    [event] = network.events("match.accepted")
    assert (event["match_id"], event["mentor_id"], event["reason_code"]) == (proposal.id, "mentor-1", None)


def test_another_agencys_match_is_not_found_and_only_coordinators_decide():
    network = Network()
    network.mentor(id="mentor-1")
    network.handle(requested("referral-1"))
    match_id = network.live("referral-1").id
    for attempt in (accept, decline):
        with pytest.raises(NotFound):
            attempt(network, match_id, OTHER_COORDINATOR)
        with pytest.raises(NotFound):
            attempt(network, "no-such-match")
        with pytest.raises(Forbidden):
            attempt(network, match_id, ADMIN)
    assert handlers.list_matches(ListMatches(OTHER_COORDINATOR), network.uow) == ([], None)
    proposed, _ = handlers.list_matches(ListMatches(COORDINATOR, "proposed"), network.uow)
    assert [item["match"].id for item in proposed] == [match_id]
    assert proposed[0]["needs"] == {"urgency": "routine", "languages": ["en", "es"],
                                    "pathways": ["12-step"], "age_band": 35,
                                    "lived_experience": ["opioids"], "substance_use_shared": True}
    # An agency's admin reads its own agency's matches only.
    assert [item["match"].id for item in handlers.list_matches(ListMatches(HARBOR_ADMIN), network.uow)[0]] \
        == [match_id]
    assert handlers.list_matches(ListMatches(ADMIN), network.uow) == ([], None)
    assert handlers.list_matches(ListMatches(COORDINATOR, "accepted"), network.uow) == ([], None)
    assert network.live("referral-1").status == "proposed"


def test_the_listing_hides_lived_experience_the_consent_did_not_share():
    network = Network()
    network.mentor(id="mentor-1")
    network.handle(requested("referral-1", lived_experience=[], pathways=["12-step"],
                             substance_use_shared=False))
    [item], _ = handlers.list_matches(ListMatches(COORDINATOR), network.uow)
    assert item["needs"]["lived_experience"] is None
    assert item["needs"]["substance_use_shared"] is False
    assert item["needs"]["pathways"] == ["12-step"]


def test_an_expired_or_full_proposal_cannot_be_accepted_and_publishes_nothing():
    network = Network()
    network.mentor(id="mentor-1", capacity=1)
    network.handle(requested("referral-1"))
    late = network.live("referral-1")
    published, commits = list(network.uow.published), network.uow.commits

    with pytest.raises(Conflict):
        accept(network, late.id, at=LATER)
    network.mentor(id="mentor-1", capacity=1, caseload=1)  # another referral took the place
    with pytest.raises(Conflict):
        accept(network, late.id)

    assert (network.uow.published, network.uow.commits) == (published, commits)
    assert network.caseload("mentor-1") == 1


def test_declining_moves_the_referral_to_the_next_best_mentor_never_back():
    network = Network()
    network.mentor(id="best")
    network.mentor(id="second", lived_experience={"alcohol"})
    network.handle(requested("referral-1"))
    first = network.live("referral-1")
    assert first.mentor_id == "best"

    declined = decline(network, first.id)
    assert decline(network, first.id).status == "declined"  # again: unchanged

    assert (declined.status, declined.reason_code) == ("declined", "capacity")
    [event] = network.events("match.declined")
    assert (event["match_id"], event["reason_code"]) == (first.id, "capacity")
    assert network.live("referral-1").mentor_id == "second"
    assert "Zeferina" not in repr(network.uow.published) + repr(network.matches.rows)
    decline(network, network.live("referral-1").id)
    assert network.live("referral-1") is None  # nobody else fits: it waits
    assert network.events("match.waitlisted", referral_id="referral-1")
    with pytest.raises(Conflict):
        accept(network, first.id)


def test_expired_proposals_move_on_and_an_undecided_one_never_returns():
    network = Network()
    network.mentor(id="best")
    network.mentor(id="second", lived_experience={"alcohol"})
    network.handle(requested("referral-1"))
    network.handle(requested("fresh-1", agencies=(BRIDGE,)))  # nobody of that agency: it waits
    first = network.live("referral-1")

    assert expire(network, LATER - timedelta(minutes=1)) == 0
    assert expire(network, LATER) == 1

    [expired] = network.events("match.expired")
    assert (expired["match_id"], expired["reason_code"]) == (first.id, "ttl")
    successor = network.live("referral-1")
    assert (successor.mentor_id, successor.expires_at) == ("second", LATER + POLICY.proposal_ttl)
    later = LATER + POLICY.proposal_ttl
    assert expire(network, later) == 1
    assert network.live("referral-1") is None
    assert network.events("match.waitlisted", referral_id="referral-1")
