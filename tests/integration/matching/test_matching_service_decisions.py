"""Places and decisions through the running service: capacity holds under 50 concurrent
accepts and under a burst of referrals, other agencies' matches and mentors do not exist for
a caller, and bad input is refused field by field."""

from __future__ import annotations

from collections import Counter

import eventlet
import pytest
from sqlalchemy import func, select

from services.kit.db import make_engine
from services.kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from services.matching.adapters.orm import matches
from tests.integration.matching.world import (
    ADMIN,
    BRIDGE,
    CLINIC,
    HARBOR,
    mentor_body,
    publish,
    requested,
)
from tests.integration.migrated import migrated
from tests.support import service_proxy, wait_for

CONCURRENT_ACCEPTS = 50


@pytest.fixture
def postgres_config(service_config, postgres_url):
    # More workers than places, so accepts really meet at the mentor's row.
    return {**service_config, "DATABASE_URL": migrated("matching", postgres_url), "max_workers": 25}


def test_fifty_concurrent_accepts_fill_a_mentor_of_capacity_three_exactly(
        start_matching, postgres_config, events):
    matching = start_matching(postgres_config)
    mentor = matching.create_mentor(HARBOR, mentor_body(capacity=CONCURRENT_ACCEPTS))
    for n in range(CONCURRENT_ACCEPTS):
        publish(postgres_config["AMQP_URI"], "referral.requested", requested(f"referral-{n:02d}"))
    proposals = events.wait("match.proposed", CONCURRENT_ACCEPTS, mentor_id=mentor["id"])
    matching.update_mentor(HARBOR, mentor["id"], {"capacity": 3})  # the mentor's circumstances changed

    def accept(match_id: str) -> str:
        with service_proxy("matching", postgres_config) as proxy:
            try:
                return proxy.accept(HARBOR, match_id)["status"]
            except Conflict:
                return "conflict"

    outcomes = list(eventlet.GreenPool(CONCURRENT_ACCEPTS).imap(
        accept, [p["match_id"] for p in proposals]))

    assert (outcomes.count("accepted"), outcomes.count("conflict")) == (3, CONCURRENT_ACCEPTS - 3)
    [after] = matching.list_mentors(HARBOR)["items"]
    assert (after["caseload"], after["capacity"]) == (3, 3)
    assert len(events.wait("match.accepted", 3)) == 3
    engine = make_engine(postgres_config["DATABASE_URL"])
    with engine.connect() as conn:
        accepted = conn.execute(select(func.count()).where(matches.c.status == "accepted")).scalar()
    engine.dispose()
    assert accepted == 3


def test_a_burst_of_referrals_never_holds_more_places_than_mentors_have(
        start_matching, postgres_config, events):
    matching = start_matching(postgres_config)
    mentors = {matching.create_mentor(HARBOR, mentor_body(display_name=f"M{n}.", capacity=2))["id"]
               for n in range(5)}
    referral_ids = [f"burst-{n:02d}" for n in range(30)]
    for referral_id in referral_ids:  # handled by many workers at once
        publish(postgres_config["AMQP_URI"], "referral.requested", requested(referral_id))

    wait_for(lambda: len(events.of("match.proposed")) + len(events.of("match.waitlisted")) == 30)
    proposals = events.of("match.proposed")
    assert len(proposals) == 10  # five mentors, two places each: the rest wait
    assert {p["mentor_id"] for p in proposals} == mentors
    assert max(Counter(p["mentor_id"] for p in proposals).values()) == 2


def test_another_agency_gets_not_found_exactly_like_an_unknown_id(matching, config, events):
    mentor = matching.create_mentor(HARBOR, mentor_body())
    publish(config["AMQP_URI"], "referral.requested", requested("referral-1"))
    [proposal] = events.wait("match.proposed", referral_id="referral-1")
    match_id = proposal["match_id"]

    for call in (lambda: matching.accept(BRIDGE, match_id),
                 lambda: matching.decline(BRIDGE, match_id, "not ours")):
        with pytest.raises(NotFound) as theirs:
            call()
        with pytest.raises(NotFound) as unknown:
            matching.accept(BRIDGE, "00000000-0000-0000-0000-000000000000")
        assert str(theirs.value) == str(unknown.value)
    with pytest.raises(NotFound):
        matching.update_mentor(BRIDGE, mentor["id"], {"capacity": 9})
    assert matching.list_matches(BRIDGE)["items"] == []
    assert matching.list_mentors(BRIDGE)["items"] == []

    with pytest.raises(Forbidden):
        matching.accept(CLINIC, match_id)
    with pytest.raises(Forbidden):
        matching.create_mentor(CLINIC, mentor_body())
    # Another agency's admin reads none of it, and decides nothing.
    assert matching.list_matches(ADMIN)["items"] == [] and matching.list_mentors(ADMIN)["items"] == []
    with pytest.raises(Forbidden):
        matching.accept(ADMIN, match_id)

    [still] = matching.list_matches(HARBOR)["items"]
    assert (still["status"], matching.list_mentors(HARBOR)["items"][0]["caseload"]) == ("proposed", 0)
    assert matching.accept(HARBOR, match_id)["status"] == "accepted"
    assert matching.accept(HARBOR, match_id)["status"] == "accepted"  # a retry changes nothing
    with pytest.raises(Conflict):
        matching.decline(HARBOR, match_id, "changed our mind")
    assert wait_for(lambda: matching.list_mentors(HARBOR)["items"][0]["caseload"] == 1)


def test_invalid_requests_are_refused_naming_each_field(matching):
    with pytest.raises(InvalidRequest) as bad:
        matching.create_mentor(HARBOR, mentor_body(languages=[], capacity=-1, nickname="x",
                                                   availability=["someday"]))
    assert set(bad.value.errors) == {"languages", "capacity", "nickname", "availability.0"}
    mentor = matching.create_mentor(HARBOR, mentor_body(capacity=2))
    with pytest.raises(InvalidRequest) as empty:
        matching.update_mentor(HARBOR, mentor["id"], {})
    assert "_schema" in empty.value.errors
    with pytest.raises(InvalidRequest):
        matching.list_matches(HARBOR, "maybe")
    with pytest.raises(InvalidRequest):
        matching.decline(HARBOR, "some-match", "   ")
    with pytest.raises(InvalidRequest) as bad:
        matching.decline(HARBOR, "some-match", None, "on leave")
    assert set(bad.value.errors) == {"reason_code"}
    with pytest.raises(InvalidRequest) as bad:
        matching.create_mentor(HARBOR, mentor_body(lived_experience=["fentanyl overdose"]))
    assert "overdose-survivor" in str(bad.value.errors["lived_experience.0"])
    with pytest.raises(InvalidRequest):
        matching.accept({"agency_id": HARBOR["agency_id"], "kind": "spaceship"}, "some-match")
