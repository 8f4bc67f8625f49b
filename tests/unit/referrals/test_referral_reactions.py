"""How referrals react to matching's and consent's events: follow, accept, disclose, cancel."""

from __future__ import annotations

import pytest
from handler_fakes import (
    NOW,
    PARTICIPANT,
    REASON,
    FakeConsent,
    asking,
    expired_event,
    match_event,
    published,
    request_command,
    revoked_event,
    stored,
    unit_of_work,
)
from referral_builders import PEER_GROUP, REFERRER, STRANGER

from services.kit.creations import creation_of
from services.kit.errors import Conflict, ConsentRequired, Forbidden, NotFound
from services.referrals.domain.commands import OpenHandoff, ReadReferral, ReportReferralStatus
from services.referrals.handlers import commands, consent_events, match_events, queries


@pytest.fixture
def uow():
    return unit_of_work(consumer="referrals.on_match")


@pytest.fixture
def consent(uow):
    return FakeConsent(uow)


@pytest.fixture
def referral_id(uow, consent):
    return commands.create_referral(request_command(), uow, consent, NOW)["id"]


def react(uow, consent, event):
    match_events.on_match(event, uow, consent, NOW)


def read(uow, referral_id, agency=REFERRER):
    return queries.read_referral(ReadReferral(asking(agency), referral_id), uow)


def handoff(uow, consent, referral_id, agency=PEER_GROUP):
    return commands.open_handoff(OpenHandoff(asking(agency), referral_id), uow, consent)


def to_agencies(consent, method):
    """What ``method`` asked of consent about a peer group (not about the network)."""
    return [ask for ask in consent.named(method) if "agency_id" in ask["recipient"]]


def test_acceptance_discloses_to_the_mentor_agency_and_opens_its_handoff(uow, consent, referral_id):
    react(uow, consent, match_event("match.accepted", referral_id))
    [asked] = to_agencies(consent, "disclose")
    assert asked["recipient"] == {"agency_id": PEER_GROUP, "kind": "peer_group"}
    assert asked["discloser"] == REFERRER
    assert asked["data_classes"] == ["contact", "demographics", "referral-reason", "substance-use"]
    view = read(uow, referral_id, PEER_GROUP)
    assert view["status"] == "accepted" and view["match"]["status"] == "accepted"
    packet = handoff(uow, consent, referral_id)
    assert packet["participant"] == PARTICIPANT and packet["consent"]["consent_id"] == "consent-1"
    assert packet["reason"] == REASON and packet["needs"]["lived_experience"] == ["opioids"]
    [fresh] = to_agencies(consent, "authorize")
    assert fresh["data_classes"] == asked["data_classes"]
    assert consent.reads() == [
        {"actor": PEER_GROUP, "participant_id": "participant-1", "what": f"handoff:{referral_id}"}]
    assert stored(uow).handoff(referral_id)["agency_id"] == PEER_GROUP


def test_a_redelivered_acceptance_has_one_effect_and_one_disclosure(uow, consent, referral_id):
    event = match_event("match.accepted", referral_id)
    for _ in range(3):
        react(uow, consent, event)
    # The same acceptance published again under a new event id.
    react(uow, consent, match_event("match.accepted", referral_id))
    assert len(to_agencies(consent, "disclose")) == 1
    history = read(uow, referral_id)["history"]
    assert [h["status"] for h in history] == ["requested", "accepted"]
    assert [e["type"] for e in published(uow)] == ["referral.requested", "referral.status_changed"]


def test_the_handoff_carries_only_the_covered_classes(uow, consent, referral_id):
    consent.covered = ["contact", "demographics", "referral-reason"]
    react(uow, consent, match_event("match.accepted", referral_id))
    [asked] = to_agencies(consent, "disclose")
    assert asked["data_classes"] == ["contact", "demographics", "referral-reason"]
    packet = handoff(uow, consent, referral_id)
    assert packet["reason"] == REASON and packet["data_classes"] == asked["data_classes"]
    assert packet["needs"]["lived_experience"] == [] and packet["needs"]["languages"] == ["es", "en"]


def test_a_handoff_without_referral_reason_carries_no_reason_or_needs(uow, consent, referral_id):
    consent.covered = ["contact", "demographics"]
    react(uow, consent, match_event("match.accepted", referral_id))
    packet = handoff(uow, consent, referral_id)
    assert "reason" not in packet and "needs" not in packet
    assert packet["data_classes"] == ["contact", "demographics"]


def test_the_referrer_sees_the_code_a_peer_group_declined_for(uow, consent, referral_id):
    react(uow, consent, match_event("match.proposed", referral_id, minutes=1))
    react(uow, consent, match_event("match.declined", referral_id, minutes=2, reason_code="capacity"))
    seen = read(uow, referral_id)["match"]
    assert (seen["status"], seen["reason_code"]) == ("declined", "capacity")


def test_a_refused_disclosure_cancels_the_referral_for_consent(uow, consent, referral_id):
    consent.deny_with = "revoked_for_recipient"
    react(uow, consent, match_event("match.accepted", referral_id))
    view = read(uow, referral_id)
    assert view["status"] == "cancelled" and view["history"][-1]["reason_code"] == "consent_revoked"
    assert view["assigned_agency_id"] is None


def test_handoff_is_for_the_assigned_agency_only_and_asks_consent_afresh(uow, consent, referral_id):
    react(uow, consent, match_event("match.proposed", referral_id))
    with pytest.raises(NotFound):  # proposed is not assigned: the peer group cannot see it yet
        handoff(uow, consent, referral_id)
    react(uow, consent, match_event("match.accepted", referral_id))
    with pytest.raises(NotFound):
        handoff(uow, consent, referral_id, STRANGER)
    with pytest.raises(Forbidden):
        handoff(uow, consent, referral_id, REFERRER)
    consent.deny_with = "revoked"
    with pytest.raises(ConsentRequired):
        handoff(uow, consent, referral_id)
    assert consent.reads() == []


def test_match_view_follows_proposals_and_ignores_stale_news(uow, consent, referral_id):
    react(uow, consent, match_event("match.proposed", referral_id, match_id="m1", minutes=1))
    react(uow, consent, match_event("match.declined", referral_id, match_id="m1", minutes=2))
    react(uow, consent, match_event("match.waitlisted", referral_id, minutes=3))
    view = read(uow, referral_id)
    assert (view["match"]["id"], view["match"]["status"], view["waitlisted"]) == ("m1", "declined", True)
    react(uow, consent, match_event("match.proposed", referral_id, match_id="m2", minutes=5))
    react(uow, consent, match_event("match.expired", referral_id, match_id="m1", minutes=6))
    react(uow, consent, match_event("match.withdrawn", referral_id, match_id="m2", minutes=4))
    view = read(uow, referral_id)
    assert (view["match"]["id"], view["match"]["status"], view["waitlisted"]) == ("m2", "proposed", False)
    assert view["status"] == "requested"


def test_a_cancelled_referral_shows_its_proposal_withdrawn_but_never_a_new_one(uow, consent,
                                                                               referral_id):
    react(uow, consent, match_event("match.proposed", referral_id, match_id="m1", minutes=1))
    uow.handle(expired_event(), consent_events.on_consent_ended, NOW)
    react(uow, consent, match_event("match.withdrawn", referral_id, match_id="m1", minutes=2))
    react(uow, consent, match_event("match.proposed", referral_id, match_id="m2", minutes=3))
    view = read(uow, referral_id)
    assert view["status"] == "cancelled"
    assert (view["match"]["id"], view["match"]["status"]) == ("m1", "withdrawn")


def test_expiry_cancels_every_open_referral_and_closes_the_handoff(uow, consent, referral_id):
    react(uow, consent, match_event("match.accepted", referral_id))
    uow.handle(expired_event(), consent_events.on_consent_ended, NOW)
    view = read(uow, referral_id)
    assert view["status"] == "cancelled" and view["history"][-1]["reason_code"] == "consent_expired"
    assert view["handoff_available"] is False
    assert stored(uow).handoff(referral_id) is None
    with pytest.raises(Conflict):
        handoff(uow, consent, referral_id)


def test_a_referral_recorded_after_its_consents_ending_was_handled_is_recorded_ended(uow, consent):
    # Consent permitted the disclosure; its revocation was handled before the referral committed.
    uow.handle(revoked_event(full=True), consent_events.on_consent_ended, NOW)
    view = commands.create_referral(request_command(), uow, consent, NOW)
    assert view["status"] == "cancelled"
    assert view["history"][-1]["reason_code"] == "consent_revoked"
    assert [m["type"] for m in published(uow)][-2:] == ["referral.requested",
                                                        "referral.status_changed"]
    assert stored(uow).held == ["consent-1", "consent-1"]  # the handler, then the creation


def test_a_referral_made_under_a_key_takes_its_consents_lock_with_the_keys_record(uow, consent):
    uow.handle(revoked_event(full=True), consent_events.on_consent_ended, NOW)
    keyed = request_command(creation=creation_of(REFERRER, "key-1", {"reason": "keyed"}))
    assert commands.create_referral(keyed, uow, consent, NOW)["status"] == "cancelled"
    assert stored(uow).held == ["consent-1"]  # the handler only: the creation's lock came with its key
    assert uow.creations.held == ["referrals.consent:consent-1"]


def test_a_partial_revocation_heard_first_spares_a_referral_it_still_covers(uow, consent):
    uow.handle(revoked_event(full=False, revoked={"agencies": ["agency-other"], "classes": []},
                             remaining={"agencies": [], "classes": ["peer_group"]}),
               consent_events.on_consent_ended, NOW)
    assert commands.create_referral(request_command(), uow, consent, NOW)["status"] == "requested"


@pytest.mark.parametrize(("revoked", "remaining", "ends"), [
    ({"agencies": [PEER_GROUP], "classes": []}, {"agencies": [], "classes": ["peer_group"]}, True),
    ({"agencies": [], "classes": ["peer_group"]}, {"agencies": [PEER_GROUP], "classes": []}, False),
    ({"agencies": ["agency-other"], "classes": []}, {"agencies": [], "classes": []}, True),
])
def test_partial_revocation_ends_what_it_no_longer_covers(uow, consent, referral_id,
                                                          revoked, remaining, ends):
    react(uow, consent, match_event("match.accepted", referral_id))
    commands.report_status(ReportReferralStatus(asking(PEER_GROUP), referral_id, "in-progress"), uow, NOW)
    uow.handle(revoked_event(full=False, revoked=revoked, remaining=remaining),
               consent_events.on_consent_ended, NOW)
    status = read(uow, referral_id)["status"]
    assert status == ("cancelled" if ends else "in-progress")


def test_a_packet_stored_before_its_classes_were_kept_reads_as_contact_and_demographics(
        uow, consent, referral_id):
    react(uow, consent, match_event("match.accepted", referral_id))
    packets = stored(uow)
    legacy = packets.handoff(referral_id)
    legacy.pop("data_classes")
    packets.store_handoff(referral_id, PEER_GROUP, legacy, NOW)
    packet = handoff(uow, consent, referral_id)
    assert "reason" not in packet and packet["data_classes"] == ["contact", "demographics"]
    [fresh] = to_agencies(consent, "authorize")
    assert fresh["data_classes"] == ["contact", "demographics"]
