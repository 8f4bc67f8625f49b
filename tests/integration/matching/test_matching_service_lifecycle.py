"""Referrals, consents and mentors changing, and the batch re-solve, through the running
service: revocation withdraws and frees places, closed referrals free their mentor, a mentor
who stops hands open proposals on, and a rebalance moves an unaccepted proposal to the
optimum without touching accepted matches."""

from __future__ import annotations

import pytest

from services.kit.errors import Conflict
from tests.integration.matching.world import (
    BRIDGE,
    CLINIC,
    HARBOR,
    mentor_body,
    publish,
    requested,
)
from tests.support import settle, wait_for


def _caseload(matching, caller=HARBOR) -> int:
    return matching.list_mentors(caller)["items"][0]["caseload"]


def _status_changed(referral_id: str, to_status: str, from_status: str = "requested") -> dict:
    return {"referral_id": referral_id, "referrer_agency_id": CLINIC["agency_id"],
            "participant_id": "participant-1", "urgency": "routine", "from_status": from_status,
            "to_status": to_status, "reason_code": "stated"}


def test_revoked_consent_withdraws_its_matches_frees_places_and_drops_its_waitlist(
        matching, config, events):
    uri = config["AMQP_URI"]
    mentor = matching.create_mentor(HARBOR, mentor_body(capacity=2))
    publish(uri, "referral.requested", requested("accepted-1", consent_id="consent-1"))
    [first] = events.wait("match.proposed", referral_id="accepted-1")
    matching.accept(HARBOR, first["match_id"])
    publish(uri, "referral.requested", requested("proposed-1", consent_id="consent-1"))
    events.wait("match.proposed", referral_id="proposed-1")
    publish(uri, "referral.requested", requested("waiting-1", consent_id="consent-1", languages=["ht"]))
    # Another participant's referral finds the mentor's places taken or held.
    publish(uri, "referral.requested", requested("other-2", consent_id="consent-2"))
    events.wait("match.waitlisted", referral_id="other-2")
    events.wait("match.waitlisted", referral_id="waiting-1")
    assert _caseload(matching) == 1

    nobody = {"agencies": [], "classes": []}
    publish(uri, "consent.revoked", {"consent_id": "consent-1", "participant_id": "participant-consent-1",
                                     "revoked": {"agencies": [HARBOR["agency_id"]], "classes": []},
                                     "remaining": nobody, "full": True})

    withdrawn = events.wait("match.withdrawn", 2)
    assert {w["referral_id"] for w in withdrawn} == {"accepted-1", "proposed-1"}
    assert {w["reason_code"] for w in withdrawn} == {"consent_revoked"}
    assert wait_for(lambda: _caseload(matching) == 0)
    # The freed places go to the waitlist at once.
    [proposed] = events.wait("match.proposed", referral_id="other-2")
    assert proposed["mentor_id"] == mentor["id"]
    # The revoked participant's waiting referral is gone: a fitting mentor brings it nothing.
    matching.create_mentor(HARBOR, mentor_body(display_name="Jean B.", languages=["ht"]))
    settle(0.5)
    assert events.of("match.proposed", referral_id="waiting-1") == []
    statuses = {m["referral_id"]: m["status"] for m in matching.list_matches(HARBOR)["items"]}
    assert statuses == {"accepted-1": "withdrawn", "proposed-1": "withdrawn", "other-2": "proposed"}


def test_partial_revocation_withdraws_only_the_agency_taken_off(matching, config, events):
    uri = config["AMQP_URI"]
    matching.create_mentor(HARBOR, mentor_body())
    other = matching.create_mentor(BRIDGE, mentor_body(display_name="Bea L.", age=50))
    both = (HARBOR["agency_id"], BRIDGE["agency_id"])
    publish(uri, "referral.requested", requested("referral-1", agencies=both))
    [first] = events.wait("match.proposed", referral_id="referral-1")
    assert first["mentor_agency_id"] == HARBOR["agency_id"]

    publish(uri, "consent.revoked", {
        "consent_id": "consent-1", "participant_id": "participant-consent-1",
        "revoked": {"agencies": [HARBOR["agency_id"]], "classes": []},
        "remaining": {"agencies": [BRIDGE["agency_id"]], "classes": []}, "full": False})

    [withdrawn] = events.wait("match.withdrawn", referral_id="referral-1")
    assert (withdrawn["match_id"], withdrawn["reason_code"]) == (first["match_id"], "consent_revoked")
    proposals = events.wait("match.proposed", 2, referral_id="referral-1")
    assert proposals[1]["mentor_id"] == other["id"]


def test_closed_referrals_withdraw_proposals_and_free_accepted_places(matching, config, events):
    uri = config["AMQP_URI"]
    matching.create_mentor(HARBOR, mentor_body(capacity=2))
    for referral_id in ("done-1", "cancelled-1"):
        publish(uri, "referral.requested", requested(referral_id))
    [done] = events.wait("match.proposed", referral_id="done-1")
    [cancelled] = events.wait("match.proposed", referral_id="cancelled-1")
    matching.accept(HARBOR, done["match_id"])
    assert _caseload(matching) == 1

    publish(uri, "referral.status_changed", _status_changed("cancelled-1", "cancelled"))
    [withdrawn] = events.wait("match.withdrawn", referral_id="cancelled-1")
    assert (withdrawn["match_id"], withdrawn["reason_code"]) == (cancelled["match_id"], "referral_cancelled")

    publish(uri, "referral.status_changed", _status_changed("done-1", "in-progress", "accepted"))
    settle(0.3)
    assert _caseload(matching) == 1  # still working together
    publish(uri, "referral.status_changed", _status_changed("done-1", "completed", "in-progress"))
    assert wait_for(lambda: _caseload(matching) == 0)
    statuses = {m["referral_id"]: m["status"] for m in matching.list_matches(HARBOR)["items"]}
    assert statuses == {"done-1": "accepted", "cancelled-1": "withdrawn"}

    # A cancellation that overtakes its request (another queue) leaves nothing to propose.
    publish(uri, "referral.status_changed", _status_changed("overtaken-1", "cancelled"))
    settle(0.3)
    publish(uri, "referral.requested", requested("overtaken-1"))
    publish(uri, "referral.requested", requested("after-1"))
    events.wait("match.proposed", referral_id="after-1")
    settle(0.3)
    assert events.of("match.proposed", referral_id="overtaken-1") == []
    assert events.of("match.waitlisted", referral_id="overtaken-1") == []


def test_rebalance_moves_an_unaccepted_proposal_to_the_optimum_and_leaves_accepted_ones(
        matching, config, events):
    uri = config["AMQP_URI"]
    bilingual = matching.create_mentor(HARBOR, mentor_body(display_name="Maria P.", capacity=1))
    english = matching.create_mentor(HARBOR, mentor_body(display_name="Ann K.", languages=["en"],
                                                         pathways=["secular"], capacity=1))
    steady = matching.create_mentor(BRIDGE, mentor_body(display_name="Bea L.", capacity=1))
    publish(uri, "referral.requested", requested("settled", agencies=(BRIDGE["agency_id"],)))
    [settled] = events.wait("match.proposed", referral_id="settled")
    matching.accept(BRIDGE, settled["match_id"])

    # Online, first come first served: the bilingual mentor goes to the first referral, and the
    # Spanish-only one, who could have had no one else, waits.
    publish(uri, "referral.requested", requested("first"))
    [first] = events.wait("match.proposed", referral_id="first")
    assert first["mentor_id"] == bilingual["id"]
    publish(uri, "referral.requested", requested("spanish-only", languages=["es"]))
    events.wait("match.waitlisted", referral_id="spanish-only")

    counts = matching.rebalance()

    assert counts == {"considered": 2, "kept": 0, "withdrawn": 1, "proposed": 2, "waitlisted": 0}
    [moved] = events.wait("match.withdrawn", referral_id="first")
    assert (moved["match_id"], moved["reason_code"]) == (first["match_id"], "rebalanced")
    assert events.wait("match.proposed", 2, referral_id="first")[1]["mentor_id"] == english["id"]
    assert events.wait("match.proposed", referral_id="spanish-only")[0]["mentor_id"] == bilingual["id"]
    # The accepted match is untouched, and a second run finds nothing better to do.
    assert events.of("match.withdrawn", referral_id="settled") == []
    [kept] = matching.list_matches(BRIDGE)["items"]
    assert (kept["mentor_id"], kept["status"]) == (steady["id"], "accepted")
    assert matching.rebalance() == {"considered": 2, "kept": 2, "withdrawn": 0, "proposed": 0,
                                    "waitlisted": 0}


def test_a_mentor_who_stops_hands_proposals_on_and_capacity_never_drops_below_caseload(
        matching, config, events):
    uri = config["AMQP_URI"]
    leaving = matching.create_mentor(HARBOR, mentor_body(display_name="A.", capacity=2))
    staying = matching.create_mentor(HARBOR, mentor_body(display_name="B.", lived_experience=["alcohol"]))
    for referral_id in ("kept-1", "moved-1"):
        publish(uri, "referral.requested", requested(referral_id))
    [kept] = events.wait("match.proposed", referral_id="kept-1")
    [moved] = events.wait("match.proposed", referral_id="moved-1")
    assert kept["mentor_id"] == moved["mentor_id"] == leaving["id"]
    matching.accept(HARBOR, kept["match_id"])

    with pytest.raises(Conflict):
        matching.update_mentor(HARBOR, leaving["id"], {"capacity": 0})
    after = matching.update_mentor(HARBOR, leaving["id"], {"active": False})

    assert (after["active"], after["caseload"], after["capacity"]) == (False, 1, 2)
    [withdrawn] = events.wait("match.withdrawn", referral_id="moved-1")
    assert withdrawn["reason_code"] == "mentor_unavailable"
    assert events.wait("match.proposed", 2, referral_id="moved-1")[1]["mentor_id"] == staying["id"]
    assert events.of("match.withdrawn", referral_id="kept-1") == []  # an accepted match stays
