"""The mentor ladder: a level's caseload cap bounds the places a mentor takes in the online pick,
the batch optimum and an accept; certification reminders go out once per threshold."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from matching_builders import TODAY, criteria, mentor
from matching_fakes import NOW
from matching_scenario import COORDINATOR, POLICY, Network, requested

from services.kit.errors import InvalidRequest
from services.kit.messages import load
from services.matching import handlers
from services.matching import schemas as s
from services.matching.domain import MentorTable, exclusion_reasons, solve_batch
from services.matching.domain.commands import AcceptMatch, Rebalance, UpdateMentor
from services.matching.domain.ladder import LevelCaps, effective_capacity, reminder_threshold


@pytest.mark.parametrize(("capacity", "cap", "expected"), [
    (5, 2, 2), (1, 2, 1), (8, 8, 8), (3, None, 3), (0, 5, 0)])
def test_effective_capacity_is_the_smaller_of_own_capacity_and_level_cap(capacity, cap, expected):
    assert effective_capacity(capacity, cap) == expected


def test_a_trainee_offering_five_places_holds_two():
    caps = LevelCaps.from_dict(None)
    trainee = mentor(capacity=5, caseload=2, level="trainee", level_cap=caps.cap("trainee"))
    assert trainee.effective_capacity == 2
    assert trainee.capacity_left == 0
    assert exclusion_reasons(trainee, criteria(), today=TODAY) == ("no_capacity",)
    assert mentor(capacity=5, caseload=2, level="senior", level_cap=caps.cap("senior")).capacity_left == 3
    assert mentor(capacity=5, caseload=2).capacity_left == 3  # not on the ladder: own capacity


def test_caps_are_configurable_and_checked():
    assert LevelCaps.from_dict({"trainee": "1"}).cap("trainee") == 1
    assert LevelCaps.from_dict({"trainee": 1}).cap("senior") == 8
    with pytest.raises(ValueError, match="unknown mentor levels"):
        LevelCaps.from_dict({"apprentice": 1})
    with pytest.raises(ValueError, match="negative"):
        LevelCaps.from_dict({"senior": -1})
    with pytest.raises(ValueError, match="unknown level"):
        mentor(level="master")


def test_the_online_pick_passes_over_a_trainee_at_the_cap():
    caps = LevelCaps()
    best = mentor(id="mentor-a", capacity=6, caseload=2, level="trainee", level_cap=caps.cap("trainee"))
    worse = mentor(id="mentor-b", capacity=6, caseload=2, level="certified",
                   level_cap=caps.cap("certified"), languages={"en"}, pathways=set())
    table = MentorTable([best, worse])
    assert table.pick(criteria(), today=TODAY).mentor_id == "mentor-b"
    assert table.capacity_left().tolist() == [0, 3]


def test_the_batch_optimum_gives_a_trainee_no_more_than_the_cap():
    caps = LevelCaps({"trainee": 1, "certified": 5, "senior": 8})
    trainee = mentor(id="mentor-a", capacity=4, level="trainee", level_cap=caps.cap("trainee"))
    other = mentor(id="mentor-b", capacity=4, languages={"en"}, pathways=set())
    waiting = [criteria(referral_id=f"referral-{i}") for i in range(3)]
    result = solve_batch(waiting, MentorTable([trainee, other]), today=TODAY)
    taken = [a.mentor_id for a in result.assignments]
    assert taken.count("mentor-a") == 1 and taken.count("mentor-b") == 2


def test_a_trainee_at_the_cap_gets_no_proposal_and_the_referral_waits():
    network = Network()
    network.mentor(capacity=5, caseload=2, level="trainee")
    network.handle(requested("referral-1"))
    assert network.live("referral-1") is None
    assert network.events("match.waitlisted", referral_id="referral-1")


def test_a_trainee_fills_the_cap_by_proposals_then_promotion_opens_places():
    network = Network()
    network.mentor(capacity=5, level="trainee")
    for n in range(3):
        network.handle(requested(f"referral-{n}", consent_id=f"consent-{n}"))
    proposed = [n for n in range(3) if network.live(f"referral-{n}") is not None]
    assert proposed == [0, 1]
    match = network.live("referral-0")
    handlers.accept_match(AcceptMatch(COORDINATOR, match.id), network.uow, NOW)
    assert network.caseload("mentor-1") == 1
    handlers.update_mentor(UpdateMentor(COORDINATOR, "mentor-1", {"level": "certified"}),
                           network.uow, POLICY, NOW)
    assert network.live("referral-2") is not None  # the waitlist is served by the new cap
    view = network.mentors.get("mentor-1").view()
    assert (view["level"], view["effective_capacity"], view["caseload"]) == ("certified", 5, 1)


def test_the_rebalance_respects_the_level_cap():
    network = Network()
    network.mentor(id="mentor-a", capacity=5, level="trainee")
    for n in range(4):
        network.handle(requested(f"referral-{n}", consent_id=f"consent-{n}"))
    counts = handlers.rebalance(Rebalance(), network.uow, POLICY, NOW)
    live = [network.live(f"referral-{n}") for n in range(4)]
    assert sum(m is not None for m in live) == 2
    assert counts["considered"] == 4


def test_pausing_keeps_accepted_matches_and_stops_new_proposals():
    network = Network()
    network.mentor(capacity=3)
    network.handle(requested("referral-1"))
    handlers.accept_match(AcceptMatch(COORDINATOR, network.live("referral-1").id), network.uow, NOW)
    handlers.update_mentor(UpdateMentor(COORDINATOR, "mentor-1", {"active": False}),
                           network.uow, POLICY, NOW)
    network.handle(requested("referral-2", consent_id="consent-2"))
    assert network.live("referral-1").status == "accepted"
    assert network.caseload("mentor-1") == 1
    assert network.live("referral-2") is None


@pytest.mark.parametrize(("days_left", "due"), [
    (45, None), (31, None), (30, 30), (12, 30), (8, 30), (7, 7), (1, 7), (0, 7), (-1, None)])
def test_the_threshold_due_by_days_left(days_left, due):
    assert reminder_threshold(TODAY + timedelta(days=days_left), TODAY) == due


def test_reminders_go_out_once_per_threshold_as_the_clock_moves():
    network = Network()
    ends = NOW.date() + timedelta(days=40)
    network.mentor(id="mentor-1", certified_until=ends)
    network.mentor(id="mentor-2", certified_until=date(2030, 1, 1))
    sent = []
    for day in range(0, 45):  # a fake clock: the timer ticks twice a day for 45 days
        for hour in (0, 12):
            now = NOW + timedelta(days=day, hours=hour)
            sent.append((day, handlers.remind_certifications(network.uow, now)))
    events = network.events("mentor.certification_expiring")
    assert [(e["mentor_id"], e["days"], e["days_left"]) for e in events] == [
        ("mentor-1", 30, 30), ("mentor-1", 7, 7)]
    assert [day for day, count in sent if count] == [10, 33]
    for event in events:  # validated against the catalog as they were staged
        assert set(event) == {"mentor_id", "agency_id", "days", "days_left"}


def test_a_renewed_certification_is_reminded_again():
    network = Network()
    network.mentor(certified_until=NOW.date() + timedelta(days=7))
    assert handlers.remind_certifications(network.uow, NOW) == 1
    assert handlers.remind_certifications(network.uow, NOW) == 0
    renewed = network.mentors.get("mentor-1").mentor
    network.mentors.put(replace(renewed, certified_until=NOW.date() + timedelta(days=30)))
    assert handlers.remind_certifications(network.uow, NOW) == 1


def test_v1_mentor_bodies_take_a_level_and_a_name_free_supervisor():
    body = {"display_name": "Maria P.", "languages": ["es"], "location": {"lat": 40.7, "lon": -74.0},
            "availability": ["mon-evening"], "capacity": 3, "certified_until": "2030-06-30"}
    loaded = load(s.MentorCreateRequest(), {**body, "level": "senior", "supervisor": "person-0042"})
    assert (loaded["level"], loaded["supervisor"]) == ("senior", "person-0042")
    assert load(s.MentorCreateRequest(), body)["level"] is None  # not placed on the ladder
    assert load(s.MentorPatchRequest(), {"level": "trainee"}) == {"level": "trainee"}
    with pytest.raises(InvalidRequest) as refused:
        load(s.MentorCreateRequest(), {**body, "level": "master", "supervisor": "Ana María López"})
    assert set(refused.value.errors) == {"level", "supervisor"}
    assert "Ana" not in str(refused.value.errors)
