"""The referrals service over real RabbitMQ with the real consent service, on SQLite and PostgreSQL:
creation, consent refusals, acceptance and its handoff, progress, and who sees what."""

from __future__ import annotations

import json

import pytest

from services.kit.errors import Conflict, ConsentRequired, Forbidden, InvalidRequest, NotFound
from tests.integration.referrals.referral_support import (
    ADMIN,
    BEACON,
    CANARIES,
    CLINIC,
    HARBOR,
    HOSPITAL,
    OPERATOR,
    PARTICIPANT,
    REASON,
    grant_request,
    publish_match,
    redeliver,
    referral_request,
)
from tests.support import settle, wait_for


def accepted_referral(referrals, consent, config, caller=HOSPITAL, consent_record=None):
    record = consent_record or consent.grant(caller, grant_request())
    referral = referrals.create(caller, referral_request(record))
    event = publish_match(config["AMQP_URI"], "match.accepted", referral)
    wait_for(lambda: referrals.get(caller, referral["id"])["status"] == "accepted")
    return referral, event


def test_create_publishes_referral_requested_without_personal_details(referrals, consent, tap):
    record = consent.grant(HOSPITAL, grant_request())
    referral = referrals.create(HOSPITAL, referral_request(record))
    assert referral["status"] == "requested"
    assert [h["status"] for h in referral["history"]] == ["requested"]
    [event] = wait_for(lambda: tap.events("referral.requested"))
    assert event["payload"]["referral_id"] == referral["id"]
    assert event["payload"]["allowed"] == {"agencies": [HARBOR["agency_id"]], "classes": ["peer_group"],
                                           "excluded": []}
    assert event["payload"]["criteria"]["location"] == {"lat": 40.71, "lon": -74.01}
    assert not any(canary in json.dumps(event) for canary in CANARIES)


@pytest.mark.parametrize(("classes", "shared"), [
    (["demographics", "contact", "referral-reason"], False),
    (["demographics", "contact", "referral-reason", "substance-use"], True),
])
def test_substance_use_criteria_travel_only_under_a_consent_covering_substance_use(
        referrals, consent, tap, classes, shared):
    record = consent.grant(HOSPITAL, grant_request(data_classes=classes))
    referral = referrals.create(HOSPITAL, referral_request(
        record, lived_experience=["opioids"], pathways=["medication-assisted", "12-step"]))
    [event] = wait_for(lambda: tap.events("referral.requested"))
    criteria = event["payload"]["criteria"]
    assert criteria["substance_use_shared"] is shared
    if shared:
        assert criteria["lived_experience"] == ["opioids"]
        assert criteria["pathways"] == ["medication-assisted", "12-step"]
    else:
        assert criteria["lived_experience"] == [] and criteria["pathways"] == ["12-step"]
        assert "opioids" not in json.dumps(event) and "medication-assisted" not in json.dumps(event)
    assert referrals.get(HOSPITAL, referral["id"])["needs"]["lived_experience"] == ["opioids"]
    [disclosed] = consent.disclosures(HOSPITAL, record["participant_id"])["items"]  # it holds the consent
    assert disclosed["recipient"] == "network:peer_group"
    assert disclosed["data_classes"] == (["referral-reason", "substance-use"] if shared
                                         else ["referral-reason"])
    ledgered = [e for e in consent.ledger(OPERATOR, {"participant": record["participant_id"]})["items"]
                if e["action"] == "disclosure"]
    assert len(ledgered) == 1 and ledgered[0]["seq"] == disclosed["ledger_seq"]


def test_reason_codes_reach_every_party_and_words_only_their_writer(referrals, consent, referrals_config):
    referral, _ = accepted_referral(referrals, consent, referrals_config)
    rid = referral["id"]
    referrals.update_status(HARBOR, rid, "on-hold", "relapsed, readmitted to detox", "unable-to-contact")
    referrals.cancel(HOSPITAL, rid, "Quillfeather-canary moved to Ohio", "referred-elsewhere")
    views = {who["agency_id"]: referrals.get(who, rid)["history"] for who in (HOSPITAL, HARBOR)}
    for agency, history in views.items():
        held, cancelled = history[-2], history[-1]
        assert (held["reason_code"], cancelled["reason_code"]) == ("unable-to-contact", "referred-elsewhere")
        assert held["reason"] == ("relapsed, readmitted to detox" if agency == HARBOR["agency_id"] else None)
        assert cancelled["reason"] == (
            "Quillfeather-canary moved to Ohio" if agency == HOSPITAL["agency_id"] else None)
    with pytest.raises(NotFound):  # no other agency's admin reads the referral at all
        referrals.get(ADMIN, rid)


def test_a_peer_group_revoked_by_name_is_excluded_from_later_referrals(referrals, consent, tap):
    # The participant takes Harbor off by name; the class still covers other peer groups.
    record = consent.grant(HOSPITAL, grant_request())
    consent.revoke(HOSPITAL, record["id"], {"reason": "not that group",
                                            "recipients": {"agencies": [HARBOR["agency_id"]]}})
    referrals.create(HOSPITAL, referral_request(record))
    [event] = wait_for(lambda: tap.events("referral.requested"))
    assert event["payload"]["allowed"] == {"agencies": [], "classes": ["peer_group"],
                                           "excluded": [HARBOR["agency_id"]]}


def test_a_denied_consent_refuses_the_referral_with_the_reason(referrals, consent, tap):
    other_purpose = consent.grant(HOSPITAL, grant_request(purposes=["treatment"]))
    with pytest.raises(ConsentRequired) as refused:
        referrals.create(HOSPITAL, referral_request(other_purpose))
    assert refused.value.extra["reason"] == "purpose_not_covered"
    with pytest.raises(ConsentRequired) as refused:
        never_issued = "00000000-0000-4000-8000-000000000000"
        referrals.create(HOSPITAL, {**referral_request(other_purpose), "consent_id": never_issued})
    assert refused.value.extra["reason"] == "consent_not_found"
    with pytest.raises(InvalidRequest) as refused:
        referrals.create(HOSPITAL, {**referral_request(other_purpose), "reason": " ", "urgency": "soon"})
    assert set(refused.value.errors) == {"reason", "urgency"}
    assert referrals.list(HOSPITAL)["items"] == []
    settle(0.3)
    assert tap.events("referral.requested") == []


def test_acceptance_opens_the_handoff_to_the_mentor_agency_only_once(
    referrals, consent, referrals_config, tap
):
    referral, accepted = accepted_referral(referrals, consent, referrals_config)
    for _ in range(2):  # the same event delivered again
        redeliver(referrals_config["AMQP_URI"], accepted)
    packet = referrals.handoff(HARBOR, referral["id"])
    assert packet["participant"]["given_name"] == PARTICIPANT["given_name"]
    assert packet["reason"] == REASON and packet["needs"]["languages"] == ["es", "en"]
    assert packet["consent"]["id"] == referral["consent_id"]
    assert "42 CFR part 2" in packet["redisclosure_notice"]
    with pytest.raises(NotFound):
        referrals.handoff(BEACON, referral["id"])
    with pytest.raises(NotFound):
        referrals.get(BEACON, referral["id"])
    with pytest.raises(Forbidden):
        referrals.handoff(HOSPITAL, referral["id"])
    assert referrals.get(HARBOR, referral["id"])["match"]["mentor_agency_id"] == HARBOR["agency_id"]

    settle(0.5)
    history = referrals.get(HOSPITAL, referral["id"])["history"]
    assert [(h["status"], h["by"]) for h in history] == [("requested", HOSPITAL["agency_id"]),
                                                          ("accepted", "network")]
    assert len(tap.events("referral.status_changed")) == 1
    disclosed = consent.disclosures(HOSPITAL, referral["participant_id"])["items"]  # it holds the consent
    assert [(d["recipient"], d["data_classes"]) for d in disclosed] == [
        ("network:peer_group", ["referral-reason"]),
        (HARBOR["agency_id"], ["contact", "demographics", "referral-reason"])]
    reads = consent.ledger(OPERATOR, {"limit": 1000, "action": "access"})["items"]
    assert [e["subject"] for e in reads] == [f"handoff:{referral['id']}"]


def test_progress_to_completion_keeps_history_and_refuses_what_the_lifecycle_forbids(
    referrals, consent, referrals_config, tap
):
    referral, _ = accepted_referral(referrals, consent, referrals_config)
    rid = referral["id"]
    with pytest.raises(InvalidRequest) as refused:
        referrals.update_status(HARBOR, rid, "on-hold")
    assert "reason_code" in refused.value.errors
    with pytest.raises(Conflict):
        referrals.update_status(HARBOR, rid, "completed")
    with pytest.raises(NotFound):
        referrals.update_status(BEACON, rid, "in-progress")
    referrals.update_status(HARBOR, rid, "in-progress")
    done = referrals.update_status(HARBOR, rid, "completed", "met weekly for three months")
    assert [h["status"] for h in done["history"]] == ["requested", "accepted", "in-progress", "completed"]
    assert done["history"][-1]["reason"] == "met weekly for three months"
    with pytest.raises(Conflict):
        referrals.update_status(HARBOR, rid, "in-progress")
    with pytest.raises(Conflict):
        referrals.cancel(HOSPITAL, rid, "too late")
    with pytest.raises(InvalidRequest):
        referrals.cancel(HOSPITAL, rid, "")
    with pytest.raises(Conflict):
        referrals.handoff(HARBOR, rid)
    moves = wait_for(lambda: len(tap.events("referral.status_changed")) == 3
                     and tap.events("referral.status_changed"))
    assert [(m["payload"]["to_status"], m["payload"]["reason_code"]) for m in moves] == [
        ("accepted", "match_accepted"), ("in-progress", None), ("completed", "other")]


def test_an_agency_lists_only_referrals_it_sent_or_was_assigned(referrals, consent, referrals_config):
    shared = consent.grant(HOSPITAL, grant_request(disclosers=[HOSPITAL["agency_id"], CLINIC["agency_id"]]))
    consent.attest(CLINIC, shared["id"])  # a further discloser is covered once it confirms
    mine = [referrals.create(HOSPITAL, referral_request(shared))["id"] for _ in range(2)]
    assigned, _ = accepted_referral(referrals, consent, referrals_config, consent_record=shared)
    theirs = referrals.create(CLINIC, referral_request(shared))["id"]

    def all_pages(caller, status=None):
        ids, page = [], None
        while True:
            result = referrals.list(caller, status=status, page=page)
            ids += [item["id"] for item in result["items"]]
            if not (page := result["next_page"]):
                return ids

    assert sorted(all_pages(HOSPITAL)) == sorted([*mine, assigned["id"]])
    assert all_pages(HARBOR) == [assigned["id"]]
    assert all_pages(BEACON) == [] and all_pages(CLINIC) == [theirs]
    assert all_pages(HOSPITAL, status="accepted") == [assigned["id"]]
    assert all_pages(ADMIN) == []  # another agency's admin oversees nothing
    with pytest.raises(InvalidRequest):
        referrals.list(HOSPITAL, page="forged")
