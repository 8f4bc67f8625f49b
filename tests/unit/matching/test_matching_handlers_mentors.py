"""Registering and changing mentors through the handlers, on a fake unit of work: a new mentor
serves the waitlist, a mentor who stops hands proposals on, another agency's mentor does not exist."""

from __future__ import annotations

from datetime import date

import pytest
from matching_builders import HARBOR
from matching_fakes import NOW
from matching_scenario import (
    ADMIN,
    BRIDGE,
    COORDINATOR,
    HARBOR_ADMIN,
    OTHER_COORDINATOR,
    POLICY,
    REFERRER,
    Network,
    requested,
)

from services.kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.kit.pages import read_cursor
from services.matching import handlers
from services.matching.domain.commands import CreateMentor, ListMentors, UpdateMentor
from services.matching.handlers.matchmaker import Matchmaker


def body(**overrides) -> dict:
    """A mentor as ``MentorCreateRequest`` loads it, fitting ``requested()``'s default referral."""
    return {"display_name": "Maria P.", "languages": ["es", "en"], "gender": "female", "age": 41,
            "pathways": ["12-step"], "lived_experience": ["opioids"],
            "location": {"lat": 40.73, "lon": -73.99}, "radius_km": 15.0, "remote_ok": True,
            "availability": ["mon-evening", "sat-morning"], "capacity": 3,
            "certified_until": date(2030, 6, 30), **overrides}


def test_a_new_mentor_is_proposed_to_the_waiting_referral_on_commit():
    network = Network()
    network.handle(requested("referral-1"))
    assert network.events("match.waitlisted", referral_id="referral-1", reason_code="no_fitting_mentor")
    commits = network.uow.commits

    view = handlers.create_mentor(CreateMentor(COORDINATOR, body()), network.uow, POLICY, NOW)

    assert (view["agency_id"], view["caseload"], view["active"], view["created_at"]) == (HARBOR, 0, True, NOW)
    assert view["location"] == {"lat": 40.73, "lon": -73.99} and "agency_kind" not in view
    [proposed] = network.events("match.proposed", referral_id="referral-1")
    assert proposed["mentor_id"] == view["id"]
    assert network.uow.commits == commits + 1


def test_only_coordinators_register_and_list_mentors_and_a_refused_mentor_publishes_nothing():
    network = Network()
    network.handle(requested("referral-1"))
    published = list(network.uow.published)
    with pytest.raises(Forbidden):
        handlers.create_mentor(CreateMentor(REFERRER, body()), network.uow, POLICY, NOW)
    with pytest.raises(Forbidden):
        handlers.list_mentors(ListMentors(REFERRER), network.uow)
    with pytest.raises(InvalidRequest):
        handlers.create_mentor(CreateMentor(COORDINATOR, body(capacity=-1)), network.uow, POLICY, NOW)
    network.mentor(id="polyglot", languages={f"lang-{n}" for n in range(63)})
    with pytest.raises(InvalidRequest) as full:
        handlers.create_mentor(CreateMentor(COORDINATOR, body(languages=["x1", "x2"])), network.uow,
                               POLICY, NOW)
    assert set(full.value.errors) == {"languages"}
    assert network.uow.published == published
    assert [m.id for m in network.mentors.of_agency(None)] == ["polyglot"]


def test_another_agencys_mentor_is_not_found_and_an_admin_lists_only_its_own_agencys():
    network = Network()
    network.mentor(id="harbor-1")
    network.mentor(id="bridge-1", agency_id=BRIDGE)
    with pytest.raises(NotFound):
        handlers.update_mentor(UpdateMentor(OTHER_COORDINATOR, "harbor-1", {"capacity": 1}),
                               network.uow, POLICY, NOW)
    with pytest.raises(NotFound):
        handlers.update_mentor(UpdateMentor(COORDINATOR, "unknown", {"capacity": 1}), network.uow,
                               POLICY, NOW)
    assert network.mentors.get("harbor-1").mentor.capacity == 3

    bridge, _ = handlers.list_mentors(ListMentors(OTHER_COORDINATOR), network.uow)
    assert [m["id"] for m in bridge] == ["bridge-1"]
    own, _ = handlers.list_mentors(ListMentors(HARBOR_ADMIN), network.uow)
    assert [m["id"] for m in own] == ["harbor-1"]
    assert handlers.list_mentors(ListMentors(ADMIN), network.uow) == ([], None)  # a clinic's admin


def test_mentors_come_in_pages_of_at_most_the_limit_with_a_cursor_to_the_next():
    network = Network()
    for n in range(5):
        network.mentor(id=f"m-{n}")
    seen, after = [], None
    while True:
        page, cursor = handlers.list_mentors(ListMentors(COORDINATOR, after=after, limit=2), network.uow)
        assert len(page) <= 2
        seen += [m["id"] for m in page]
        if cursor is None:
            break
        after = read_cursor(cursor)
    assert sorted(seen) == [f"m-{n}" for n in range(5)] and len(seen) == 5


def test_a_mentor_who_stops_hands_proposals_on_and_capacity_never_drops_below_caseload():
    network = Network()
    network.mentor(id="leaving", capacity=2)
    network.mentor(id="staying", lived_experience={"alcohol"})
    for referral_id in ("kept-1", "moved-1"):
        network.handle(requested(referral_id))
    kept = network.live("kept-1")
    assert kept.mentor_id == network.live("moved-1").mentor_id == "leaving"
    with network.uow as uow:  # the coordinator accepted one of them
        kept.accept(NOW)
        assert uow.matches.save(kept) and uow.mentors.take_place("leaving", NOW.date())
        uow.commit()
    published = len(network.uow.published)

    with pytest.raises(Conflict):
        handlers.update_mentor(UpdateMentor(COORDINATOR, "leaving", {"capacity": 0}), network.uow,
                               POLICY, NOW)
    assert len(network.uow.published) == published
    after = handlers.update_mentor(UpdateMentor(COORDINATOR, "leaving", {"active": False}),
                                   network.uow, POLICY, NOW)

    assert (after["active"], after["caseload"], after["capacity"]) == (False, 1, 2)
    [withdrawn] = network.events("match.withdrawn", referral_id="moved-1")
    assert withdrawn["reason_code"] == "mentor_unavailable"
    assert network.live("moved-1").mentor_id == "staying"
    assert network.live("kept-1").status == "accepted"
    assert network.events("match.withdrawn", referral_id="kept-1") == []


def test_more_places_serve_the_waitlist_urgent_first():
    network = Network()
    network.mentor(id="only", capacity=0)
    network.handle(requested("routine-1"))
    network.handle(requested("urgent-1", urgency="urgent"))
    handlers.update_mentor(UpdateMentor(COORDINATOR, "only", {"capacity": 1}), network.uow, POLICY, NOW)
    assert network.live("urgent-1").mentor_id == "only"
    assert network.live("routine-1") is None
    with network.uow as uow:  # nothing more to propose: the place is held
        assert Matchmaker(uow, POLICY, NOW).fill_waitlist() == 0
