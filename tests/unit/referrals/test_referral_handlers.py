"""The referrals handlers for commands and queries, with a fake consent and a fake unit of work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from handler_fakes import NOW, REASON, FakeConsent, asking, published, request_command, stored, unit_of_work
from referral_builders import NEEDS, PEER_GROUP, REFERRER, STRANGER

from services.kit.errors import Conflict, ConsentRequired, InvalidRequest, NotFound
from services.referrals.domain.commands import (
    CancelReferral,
    ListReferrals,
    ReadReferral,
    ReportReferralStatus,
)
from services.referrals.handlers import commands, queries


@pytest.fixture
def uow():
    return unit_of_work()


@pytest.fixture
def consent(uow):
    return FakeConsent(uow)


def create(uow, consent, **overrides):
    return commands.create_referral(request_command(**overrides), uow, consent, NOW)


def test_create_discloses_to_the_network_what_the_consent_covers_then_stages_referral_requested(
        uow, consent):
    view = create(uow, consent)
    assert view["status"] == "requested" and view["reason"] == REASON
    question = {"discloser": REFERRER, "recipient": {"class": "peer_group"},
                "purpose": "peer-support-referral", "participant_id": "participant-1",
                "consent_id": "consent-1"}
    [scope] = consent.named("covered_classes")
    assert scope == {**question, "data_classes": ["referral-reason", "substance-use"]}
    [disclosed] = consent.named("disclose")
    assert disclosed == {**question, "data_classes": ["referral-reason", "substance-use"],
                         "asking": REFERRER}
    assert consent.named("authorize") == []
    [event] = published(uow)
    assert event["type"] == "referral.requested"
    assert event["payload"]["allowed"] == consent.allowed
    assert event["payload"]["criteria"]["lived_experience"] == ["opioids"]
    assert event["payload"]["criteria"]["substance_use_shared"] is True
    assert "Zeferina" not in str(event) and "detox" not in str(event)
    [kept] = stored(uow).all()
    assert kept.id == view["id"] and kept.reason == REASON and uow.commits == 1


def test_without_substance_use_the_network_gets_no_substance_criteria(uow, consent):
    consent.covered = ["contact", "demographics", "referral-reason"]
    create(uow, consent, needs={**NEEDS, "pathways": ["medication-assisted", "12-step"]})
    [disclosed] = consent.named("disclose")
    assert disclosed["data_classes"] == ["referral-reason"]
    [event] = published(uow)
    criteria = event["payload"]["criteria"]
    assert criteria["lived_experience"] == [] and criteria["pathways"] == ["12-step"]
    assert criteria["substance_use_shared"] is False
    assert "opioids" not in str(event) and "medication-assisted" not in str(event)
    [kept] = stored(uow).all()
    assert kept.needs["lived_experience"] == ["opioids"]  # the referrer's record stays whole


def test_a_referral_the_consent_does_not_cover_discloses_nothing_and_stores_no_referral(uow, consent):
    consent.covered = ["contact", "demographics"]
    with pytest.raises(ConsentRequired) as refused:
        create(uow, consent)
    assert refused.value.extra["reason"] == "data_class_not_covered"
    [asked] = consent.named("disclose")  # asked for the reason alone, so consent ledgers the refusal
    assert asked["data_classes"] == ["referral-reason"]
    assert [e["type"] for e in published(uow)] == ["referral.refused"] and stored(uow).all() == []


def test_a_denied_consent_refuses_the_referral_with_the_reason_and_stores_no_referral(uow, consent):
    consent.deny_with = "purpose_not_covered"
    with pytest.raises(ConsentRequired) as refused:
        create(uow, consent)
    assert refused.value.extra["reason"] == "purpose_not_covered"
    assert [e["type"] for e in published(uow)] == ["referral.refused"]
    assert stored(uow).all() == []


def test_an_invalid_request_stores_and_publishes_nothing(uow, consent):
    with pytest.raises(InvalidRequest) as refused:
        create(uow, consent, reason="  ")
    assert "reason" in refused.value.errors
    assert published(uow) == [] and stored(uow).all() == []


def test_only_the_referrer_reads_a_referral_and_another_agencys_admin_does_not(uow, consent):
    view = create(uow, consent)
    with pytest.raises(NotFound):
        queries.read_referral(ReadReferral(asking(STRANGER), view["id"]), uow)
    with pytest.raises(NotFound):
        queries.read_referral(ReadReferral(asking(REFERRER), "no-such-id"), uow)
    with pytest.raises(NotFound):
        queries.read_referral(ReadReferral(asking(STRANGER, admin=True), view["id"]), uow)
    assert queries.read_referral(ReadReferral(asking(REFERRER), view["id"]), uow)["reason"] == REASON


def test_cancel_keeps_the_stated_reason_in_history_but_publishes_only_a_code(uow, consent):
    view = create(uow, consent)
    cancelled = commands.cancel_referral(
        CancelReferral(asking(REFERRER), view["id"], "Zeferina moved away", "no-longer-needed"), uow,
        NOW + timedelta(hours=1))
    assert cancelled["status"] == "cancelled"
    assert cancelled["history"][-1]["reason"] == "Zeferina moved away"
    assert cancelled["history"][-1]["reason_code"] == "no-longer-needed"
    event = published(uow)[-1]
    assert event["payload"]["reason_code"] == "no-longer-needed" and "Zeferina" not in str(event)
    with pytest.raises(NotFound):  # no agency's admin oversees another agency's referrals
        queries.read_referral(ReadReferral(asking(STRANGER, admin=True), view["id"]), uow)
    with pytest.raises(Conflict):
        commands.cancel_referral(CancelReferral(asking(REFERRER), view["id"], "again"), uow, NOW)
    assert len(published(uow)) == 2


def test_progress_cannot_be_reported_on_a_referral_nobody_was_assigned(uow, consent):
    view = create(uow, consent)
    with pytest.raises(NotFound):  # not assigned yet: the peer group cannot see it
        commands.report_status(ReportReferralStatus(asking(PEER_GROUP), view["id"], "in-progress"), uow, NOW)
    with pytest.raises(Conflict):
        commands.report_status(ReportReferralStatus(asking(REFERRER), view["id"], "in-progress"), uow, NOW)
    assert [e["type"] for e in published(uow)] == ["referral.requested"]
    assert queries.read_referral(ReadReferral(asking(REFERRER), view["id"]), uow)["status"] == "requested"


def test_listing_pages_through_own_referrals_with_an_opaque_cursor(uow, consent):
    ids = [create(uow, consent)["id"] for _ in range(5)]
    create(uow, consent, caller=asking("agency-other"))
    seen, cursor = [], None
    while True:
        page = queries.list_referrals(ListReferrals(asking(REFERRER), cursor=cursor), uow, page_size=2)
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_page"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    strangers_admin = queries.list_referrals(ListReferrals(asking(STRANGER, admin=True)), uow, page_size=10)
    assert strangers_admin == {"items": [], "next_page": None}
    none = queries.list_referrals(ListReferrals(asking(PEER_GROUP)), uow, page_size=10)
    assert none == {"items": [], "next_page": None}


def test_listing_filters_by_status(uow, consent):
    keep = create(uow, consent)["id"]
    gone = create(uow, consent)["id"]
    commands.cancel_referral(CancelReferral(asking(REFERRER), gone, "duplicate"), uow, NOW)
    page = queries.list_referrals(ListReferrals(asking(REFERRER), status="requested"), uow, 10)
    assert [item["id"] for item in page["items"]] == [keep]


def test_a_concurrent_change_is_a_conflict_and_publishes_nothing(uow, consent):
    referral_id = create(uow, consent)["id"]
    with uow:
        mine = uow.referrals.get(referral_id)
    commands.cancel_referral(CancelReferral(asking(REFERRER), referral_id, "theirs"), uow, NOW)
    with uow:
        mine.cancel(by=REFERRER, reason="mine", at=NOW)
        with pytest.raises(Conflict):
            uow.referrals.save(mine)
    assert [e["type"] for e in published(uow)] == ["referral.requested", "referral.status_changed"]
