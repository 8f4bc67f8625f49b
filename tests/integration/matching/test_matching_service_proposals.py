"""Online matching through the running service: the best mentor is proposed with its
explanation, the waitlist is served as mentors appear, declines and expiries move a referral
on and never back, and a redelivered request proposes once. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.matching.catalog import MatchV1
from services.matching.domain import FACTORS
from tests.integration.matching.world import (
    BRIDGE,
    HARBOR,
    mentor_body,
    publish,
    publish_again,
    requested,
)
from tests.support import settle, wait_for


def test_best_allowed_mentor_is_proposed_with_an_explanation_that_adds_up(matching, config, events):
    best = matching.create_mentor(HARBOR, mentor_body(display_name="Maria P."))
    matching.create_mentor(HARBOR, mentor_body(display_name="Sam K.", pathways=["secular"],
                                               lived_experience=["alcohol"], gender="male"))
    # A perfect fit, but at a peer group the participant's consent does not cover.
    matching.create_mentor(BRIDGE, mentor_body(display_name="Bea L.", age=37))
    before = datetime.now(UTC)

    publish(config["AMQP_URI"], "referral.requested", requested("referral-1"))

    [proposed] = events.wait("match.proposed", referral_id="referral-1")
    assert (proposed["mentor_id"], proposed["mentor_agency_id"]) == (best["id"], HARBOR["agency_id"])
    assert [item["factor"] for item in proposed["explanation"]] == list(FACTORS)
    assert proposed["score"] == pytest.approx(sum(i["contribution"] for i in proposed["explanation"]))
    assert sum(i["weight"] for i in proposed["explanation"]) == pytest.approx(1.0)
    assert set(proposed) <= set(MatchV1().fields)  # ids, score, explanation: no names
    assert "Maria" not in str(events.matching())

    [match] = matching.list_matches(HARBOR, "proposed")["items"]
    assert (match["id"], match["status"]) == (proposed["match_id"], "proposed")
    assert match["explanation"] == proposed["explanation"]
    # The needs as matching weighed them: codes only, nothing of the participant's.
    assert match["needs"] == {"urgency": "routine", "languages": ["en", "es"], "pathways": ["12-step"],
                              "age_band": 35, "lived_experience": ["opioids"],
                              "substance_use_shared": True}
    expires_at = datetime.fromisoformat(match["expires_at"])
    assert before + timedelta(hours=48) <= expires_at <= datetime.now(UTC) + timedelta(hours=48)
    assert matching.list_matches(BRIDGE)["items"] == []


def test_waitlisted_referral_is_proposed_as_soon_as_a_fitting_mentor_appears(matching, config, events):
    matching.create_mentor(HARBOR, mentor_body())  # speaks Spanish and English only
    # Consent by class: any peer group in the network.
    publish(config["AMQP_URI"], "referral.requested",
            requested("referral-ht", agencies=(), classes=("peer_group",), languages=["ht"]))
    [waitlisted] = events.wait("match.waitlisted", referral_id="referral-ht")
    assert waitlisted["reason_code"] == "no_fitting_mentor"

    creole = matching.create_mentor(BRIDGE, mentor_body(display_name="Jean B.", languages=["ht", "fr"],
                                                        capacity=0))
    settle(0.5)
    assert events.of("match.proposed", referral_id="referral-ht") == []  # no place yet

    matching.update_mentor(BRIDGE, creole["id"], {"capacity": 1})

    [proposed] = events.wait("match.proposed", referral_id="referral-ht")
    assert proposed["mentor_id"] == creole["id"]


def test_a_peer_group_revoked_by_name_is_never_proposed_though_the_class_is_covered(
        matching, config, events):
    harbor = matching.create_mentor(HARBOR, mentor_body(display_name="Best fit"))
    bridge = matching.create_mentor(BRIDGE, mentor_body(display_name="Next", lived_experience=["alcohol"]))
    publish(config["AMQP_URI"], "referral.requested",
            requested("referral-excl", agencies=(), classes=("peer_group",),
                      excluded=(HARBOR["agency_id"],)))
    [proposed] = events.wait("match.proposed", referral_id="referral-excl")
    assert proposed["mentor_id"] == bridge["id"] != harbor["id"]


def test_decline_and_expiry_move_on_to_the_next_best_and_never_back(
        start_matching, config, events, clock):
    start = clock.set(datetime.now(UTC).replace(microsecond=0))
    matching = start_matching({**config, "TIMERS_ENABLED": True, "EXPIRY_CHECK_SECONDS": 0.1,
                               "REBALANCE_INTERVAL_SECONDS": 3600})
    first = matching.create_mentor(HARBOR, mentor_body(display_name="A."))
    second = matching.create_mentor(HARBOR, mentor_body(display_name="B.", lived_experience=["alcohol"]))
    third = matching.create_mentor(HARBOR, mentor_body(display_name="C.", lived_experience=["alcohol"],
                                                       pathways=["secular"]))
    publish(config["AMQP_URI"], "referral.requested", requested("referral-1"))
    [proposal] = events.wait("match.proposed", referral_id="referral-1")
    assert proposal["mentor_id"] == first["id"]

    declined = matching.decline(HARBOR, proposal["match_id"], "On leave until March, call Ana at 555-0100",
                                "capacity")
    assert declined["status"] == "declined"
    [said] = events.wait("match.declined", referral_id="referral-1")
    assert said["reason_code"] == "capacity"
    # Canaries no id or timestamp can contain ("555" alone turns up inside random UUIDs).
    published = str(events.matching())
    assert "leave" not in published and "Ana at 555" not in published and "555-0100" not in published
    proposals = events.wait("match.proposed", 2, referral_id="referral-1")
    assert proposals[1]["mentor_id"] == second["id"]

    clock.set(start + timedelta(hours=49))  # nobody answered in time
    [expired] = events.wait("match.expired", referral_id="referral-1")
    assert (expired["match_id"], expired["reason_code"]) == (proposals[1]["match_id"], "ttl")
    proposals = events.wait("match.proposed", 3, referral_id="referral-1")
    assert proposals[2]["mentor_id"] == third["id"]

    matching.decline(HARBOR, proposals[2]["match_id"], "Not a fit")
    events.wait("match.waitlisted", referral_id="referral-1")
    # More room at the mentors who declined or let it expire brings them no proposal back.
    matching.update_mentor(HARBOR, first["id"], {"capacity": 9})
    matching.update_mentor(HARBOR, second["id"], {"capacity": 9})
    assert matching.rebalance()["proposed"] == 0
    settle(0.3)
    assert len(events.of("match.proposed", referral_id="referral-1")) == 3

    fourth = matching.create_mentor(HARBOR, mentor_body(display_name="D.", pathways=["secular"]))
    proposals = events.wait("match.proposed", 4, referral_id="referral-1")
    assert proposals[3]["mentor_id"] == fourth["id"]
    statuses = {m["mentor_id"]: m["status"] for m in matching.list_matches(HARBOR)["items"]}
    assert statuses == {first["id"]: "declined", second["id"]: "expired",
                        third["id"]: "declined", fourth["id"]: "proposed"}


def test_redelivered_referral_request_creates_one_proposal(matching, config, events):
    matching.create_mentor(HARBOR, mentor_body())
    event = publish(config["AMQP_URI"], "referral.requested", requested("referral-dup"))
    for _ in range(2):
        publish_again(config["AMQP_URI"], event)
    # The same request again under a new event id (a producer that retried its own publish).
    publish(config["AMQP_URI"], "referral.requested", requested("referral-dup"))

    events.wait("match.proposed", referral_id="referral-dup")
    settle(0.6)
    assert len(events.of("match.proposed", referral_id="referral-dup")) == 1
    assert len(wait_for(lambda: matching.list_matches(HARBOR)["items"])) == 1
