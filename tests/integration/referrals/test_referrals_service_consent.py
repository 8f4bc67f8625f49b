"""Consent ending reaches referrals through consent's own events, and personal details stay sealed:
revocation in full or in part, expiry, and canaries searched for in the database and on the wire."""

from __future__ import annotations

import json

import pytest

from services.kit.contract import new_event
from services.kit.errors import Conflict
from tests.integration.referrals.referral_support import (
    CANARIES,
    HARBOR,
    HOSPITAL,
    grant_request,
    publish_match,
    redeliver,
    referral_request,
)
from tests.integration.stored import raw_database_text
from tests.support import wait_for


def two_referrals(referrals, consent, config, **grant):
    """One still requested, one accepted by Harbor, both on the same consent."""
    record = consent.grant(HOSPITAL, grant_request(**grant))
    waiting = referrals.create(HOSPITAL, referral_request(record))
    accepted = referrals.create(HOSPITAL, referral_request(record))
    publish_match(config["AMQP_URI"], "match.accepted", accepted)
    wait_for(lambda: referrals.get(HOSPITAL, accepted["id"])["status"] == "accepted")
    referrals.handoff(HARBOR, accepted["id"])  # open while the consent stands
    return record, waiting["id"], accepted["id"]


def ended_by(referrals, referral_id, code):
    view = referrals.get(HOSPITAL, referral_id)
    return view["status"] == "cancelled" and view["history"][-1]["reason_code"] == code and view


def test_revocation_cancels_requested_and_accepted_referrals_and_closes_the_handoff(
    referrals, consent, referrals_config, tap
):
    record, waiting, accepted = two_referrals(referrals, consent, referrals_config)
    consent.revoke(HOSPITAL, record["id"], {"reason": "participant withdrew"})
    for referral_id in (waiting, accepted):
        view = wait_for(lambda rid=referral_id: ended_by(referrals, rid, "consent_revoked"))
        assert view["handoff_available"] is False
    with pytest.raises(Conflict):
        referrals.handoff(HARBOR, accepted)
    cancelled = [e["payload"] for e in tap.events("referral.status_changed")
                 if e["payload"]["to_status"] == "cancelled"]
    assert {c["referral_id"] for c in cancelled} == {waiting, accepted}
    assert {c["reason_code"] for c in cancelled} == {"consent_revoked"}


def test_taking_the_assigned_agency_off_cancels_only_what_it_covered(referrals, consent, referrals_config):
    record, waiting, accepted = two_referrals(referrals, consent, referrals_config)
    consent.revoke(HOSPITAL, record["id"], {"reason": "not them",
                                            "recipients": {"agencies": [HARBOR["agency_id"]]}})
    wait_for(lambda: ended_by(referrals, accepted, "consent_revoked"))
    # Every peer group is still covered by class: the waiting referral goes on.
    assert referrals.get(HOSPITAL, waiting)["status"] == "requested"
    with pytest.raises(Conflict):
        referrals.handoff(HARBOR, accepted)


def test_expiry_at_the_end_of_treatment_cancels_open_referrals(referrals, consent, referrals_config):
    record, waiting, accepted = two_referrals(referrals, consent, referrals_config,
                                              until_treatment_ends=True)
    consent.end_treatment(HOSPITAL, record["id"])
    for referral_id in (waiting, accepted):
        wait_for(lambda rid=referral_id: ended_by(referrals, rid, "consent_expired"))


def test_personal_details_never_appear_in_clear_in_the_database_or_on_the_wire(
    referrals, consent, referrals_config, tap
):
    record, waiting, accepted = two_referrals(referrals, consent, referrals_config)
    referrals.update_status(HARBOR, accepted, "on-hold", "Zeferina Quillfeather is in hospital")
    referrals.cancel(HOSPITAL, waiting, "Quillfeather moved away")
    packet = referrals.handoff(HARBOR, accepted)
    assert packet["participant"]["family_name"] == "Quillfeather"  # the canary is really stored

    stored = raw_database_text(referrals_config["DATABASE_URL"])
    assert accepted in stored  # the raw read does see the rows
    assert [canary for canary in CANARIES if canary in stored] == []
    events = json.dumps(wait_for(lambda: len(tap.events("referral.status_changed")) >= 3 and tap.events()))
    assert [canary for canary in CANARIES if canary in events] == []


def test_a_referral_committed_after_its_consents_revocation_was_handled_is_recorded_cancelled(
    referrals, consent, referrals_config, tap
):
    # The race: consent permits the disclosure, then the revocation is handled by referrals
    # before the referral commits. Here referrals hears the revocation while consent, not yet
    # told, still permits, which is the order the race can produce.
    record = consent.grant(HOSPITAL, grant_request())
    first = referrals.create(HOSPITAL, referral_request(record))
    revoked = new_event("consent.revoked", {
        "consent_id": record["id"], "participant_id": record["participant_id"], "full": True,
        "revoked": {"agencies": [], "classes": ["peer_group"]},
        "remaining": {"agencies": [], "classes": []}}, source="consent")
    redeliver(referrals_config["AMQP_URI"], revoked)
    wait_for(lambda: ended_by(referrals, first["id"], "consent_revoked"))
    late = referrals.create(HOSPITAL, referral_request(record))
    assert late["status"] == "cancelled" and late["history"][-1]["reason_code"] == "consent_revoked"
    wait_for(lambda: any(e["payload"]["referral_id"] == late["id"]
                         and e["payload"]["to_status"] == "cancelled"
                         for e in tap.events("referral.status_changed")))
