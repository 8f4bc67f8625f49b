"""The referrals handlers for commands and queries, with a fake consent and a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from handler_fakes import NOW, REASON, FakeConsent, new_ring, published, request_command, unit_of_work
from referral_builders import PEER_GROUP, REFERRER, STRANGER
from sqlalchemy import select

from services.kit.errors import Conflict, ConsentRequired, InvalidRequest, NotFound
from services.referrals import handlers
from services.referrals.adapters.orm import metadata
from services.referrals.adapters.repository import ReferralRepository
from services.referrals.domain.commands import CancelReferral, ListReferrals, ReadReferral


@pytest.fixture
def uow(tmp_path):
    return unit_of_work(tmp_path)


@pytest.fixture
def consent(uow):
    return FakeConsent(uow)


@pytest.fixture
def ring():
    return new_ring()


def create(uow, consent, ring, **overrides):
    return handlers.create_referral(request_command(**overrides), uow, consent, ring, NOW)


def test_create_asks_consent_for_the_peer_group_class_then_stages_referral_requested(uow, consent, ring):
    view = create(uow, consent, ring)
    assert view["status"] == "requested" and view["reason"] == REASON
    [ask] = consent.named("authorize")
    assert ask == {"discloser": REFERRER, "recipient": {"class": "peer_group"},
                   "purpose": "peer-support-referral", "data_classes": ["referral-reason"],
                   "participant_id": "participant-1", "consent_id": "consent-1"}
    [event] = published(uow)
    assert event["type"] == "referral.requested"
    assert event["payload"]["allowed"] == consent.allowed
    assert "Zeferina" not in str(event) and "detox" not in str(event)


def test_a_denied_consent_refuses_the_referral_with_the_reason_and_stores_nothing(uow, consent, ring):
    consent.deny_with = "purpose_not_covered"
    with pytest.raises(ConsentRequired) as refused:
        create(uow, consent, ring)
    assert refused.value.extra["reason"] == "purpose_not_covered"
    assert published(uow) == []
    with uow:
        assert uow.session.execute(select(metadata.tables["referrals"])).all() == []


def test_the_reason_is_sealed_at_rest(uow, consent, ring, tmp_path):
    view = create(uow, consent, ring)
    with uow:
        row = uow.session.execute(select(metadata.tables["referrals"])).one()
    assert row.id == view["id"] and row.reason.startswith("v1.k1.") and "Zeferina" not in row.needs
    assert b"Zeferina" not in (tmp_path / "referrals.db").read_bytes()


def test_only_the_referrer_and_admins_read_a_referral(uow, consent, ring):
    view = create(uow, consent, ring)
    with pytest.raises(NotFound):
        handlers.read_referral(ReadReferral(view["id"], STRANGER), uow, ring)
    with pytest.raises(NotFound):
        handlers.read_referral(ReadReferral("no-such-id", REFERRER), uow, ring)
    oversight = handlers.read_referral(ReadReferral(view["id"], STRANGER, oversight=True), uow, ring)
    assert oversight["status"] == "requested" and "reason" not in oversight


def test_cancel_keeps_the_stated_reason_in_history_but_publishes_only_a_code(uow, consent, ring):
    view = create(uow, consent, ring)
    cancelled = handlers.cancel_referral(
        CancelReferral(view["id"], REFERRER, "Zeferina moved away"), uow, ring, NOW + timedelta(hours=1))
    assert cancelled["status"] == "cancelled"
    assert cancelled["history"][-1]["reason"] == "Zeferina moved away"
    event = published(uow)[-1]
    assert event["payload"]["reason_code"] == "stated" and "Zeferina" not in str(event)
    with pytest.raises(Conflict):
        handlers.cancel_referral(CancelReferral(view["id"], REFERRER, "again"), uow, ring, NOW)


def test_listing_pages_through_own_referrals_with_an_opaque_cursor(uow, consent, ring):
    ids = [create(uow, consent, ring)["id"] for _ in range(5)]
    create(uow, consent, ring, referrer_agency_id="agency-other")
    seen, cursor = [], None
    while True:
        page = handlers.list_referrals(ListReferrals(REFERRER, cursor=cursor), uow, ring, page_size=2)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_page"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert sorted(seen) == sorted(ids)
    everyone = handlers.list_referrals(ListReferrals(STRANGER, oversight=True), uow, ring, page_size=10)
    assert len(everyone["items"]) == 6
    none = handlers.list_referrals(ListReferrals(PEER_GROUP), uow, ring, page_size=10)
    assert none == {"items": [], "next_page": None}


def test_listing_filters_by_status(uow, consent, ring):
    keep = create(uow, consent, ring)["id"]
    gone = create(uow, consent, ring)["id"]
    handlers.cancel_referral(CancelReferral(gone, REFERRER, "duplicate"), uow, ring, NOW)
    page = handlers.list_referrals(ListReferrals(REFERRER, status="requested"), uow, ring, 10)
    assert [item["id"] for item in page["items"]] == [keep]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10", "WyIyMDI2IiwgM10"])
def test_a_forged_cursor_is_an_invalid_request(uow, ring, cursor):
    with pytest.raises(InvalidRequest) as refused:
        handlers.list_referrals(ListReferrals(REFERRER, cursor=cursor), uow, ring, page_size=2)
    assert "page" in refused.value.errors


def test_a_concurrent_change_is_a_conflict(uow, consent, ring):
    referral_id = create(uow, consent, ring)["id"]
    with uow:
        first = ReferralRepository(uow.session, ring)
        mine = first.get(referral_id)
        theirs_repo = ReferralRepository(uow.session, ring)
        theirs = theirs_repo.get(referral_id)
        theirs.cancel(by=REFERRER, reason="theirs", at=NOW)
        theirs_repo.save(theirs)
        mine.cancel(by=REFERRER, reason="mine", at=NOW)
        with pytest.raises(Conflict):
            first.save(mine)
