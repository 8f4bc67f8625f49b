"""The mentor ladder through the running service: a trainee at the level's caseload cap gets no
proposal, a promotion opens places; certification reminders go out once per threshold.
SQLite and PostgreSQL, real RabbitMQ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.matching.world import HARBOR, mentor_body, publish, requested
from tests.support import settle


def test_a_trainee_at_the_cap_gets_no_proposal_until_promoted(start_matching, config, events):
    matching = start_matching({**config, "LEVEL_CAPS": {"trainee": 1, "certified": 5, "senior": 8}})
    trainee = matching.create_mentor(HARBOR, mentor_body(capacity=4, level="trainee",
                                                         supervisor="person-0042"))
    assert (trainee["level"], trainee["supervisor"]) == ("trainee", "person-0042")
    assert (trainee["capacity"], trainee["effective_capacity"]) == (4, 1)

    publish(config["AMQP_URI"], "referral.requested", requested("referral-1"))
    [proposed] = events.wait("match.proposed", referral_id="referral-1")
    assert proposed["mentor_id"] == trainee["id"]
    # The explanation says the level caps this mentor, with the load before this proposal.
    capped = [item for item in proposed["explanation"] if item["factor"] == "level_cap"]
    assert capped == [{"factor": "level_cap", "weight": 0.0, "score": 0.0, "contribution": 0.0,
                       "shared": True, "level": "trainee", "cap": 1, "capacity": 4, "caseload": 0}]
    listed = matching.list_matches(HARBOR, "proposed")["items"][0]["explanation"]
    assert [item for item in listed if item["factor"] == "level_cap"] == capped
    matching.accept(HARBOR, proposed["match_id"])

    publish(config["AMQP_URI"], "referral.requested", requested("referral-2", consent_id="consent-2"))
    [waitlisted] = events.wait("match.waitlisted", referral_id="referral-2")
    assert waitlisted["reason_code"] == "no_fitting_mentor"
    assert matching.rebalance()["proposed"] == 0  # the batch optimum respects the cap as well
    settle(0.3)
    assert events.of("match.proposed", referral_id="referral-2") == []

    promoted = matching.update_mentor(HARBOR, trainee["id"], {"level": "certified"})
    assert (promoted["effective_capacity"], promoted["caseload"]) == (4, 1)
    [proposed] = events.wait("match.proposed", referral_id="referral-2")
    assert proposed["mentor_id"] == trainee["id"]


def test_certification_reminders_go_out_once_at_30_and_7_days(start_matching, config, events, clock):
    start = clock.set(datetime.now(UTC).replace(microsecond=0))
    matching = start_matching({**config, "TIMERS_ENABLED": True, "CERTIFICATION_CHECK_SECONDS": 0.1,
                               "EXPIRY_CHECK_SECONDS": 3600, "REBALANCE_INTERVAL_SECONDS": 3600})
    ends = (start + timedelta(days=35)).date()
    mentor = matching.create_mentor(HARBOR, mentor_body(certified_until=ends.isoformat()))
    settle(0.3)
    assert events.of("mentor.certification_expiring") == []

    clock.set(start + timedelta(days=5))
    [first] = events.wait("mentor.certification_expiring", mentor_id=mentor["id"])
    assert first == {"mentor_id": mentor["id"], "agency_id": HARBOR["agency_id"], "days": 30,
                     "days_left": 30}
    clock.set(start + timedelta(days=29))
    reminders = events.wait("mentor.certification_expiring", 2, mentor_id=mentor["id"])
    assert [(r["days"], r["days_left"]) for r in reminders] == [(30, 30), (7, 6)]
    settle(0.5)  # the timer kept ticking: nothing twice
    assert len(events.of("mentor.certification_expiring")) == 2
