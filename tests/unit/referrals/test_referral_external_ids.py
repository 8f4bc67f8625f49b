"""The referrer's own identifier on a referral: kept, unique per referrer and system, searchable
(with the other listing filters) only among the referrer's own referrals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from handler_fakes import NOW, FakeConsent, asking, request_command, unit_of_work
from marshmallow import ValidationError
from referral_builders import PEER_GROUP, REFERRER, STRANGER

from services.kit.errors import Conflict
from services.referrals.domain.commands import ListReferrals
from services.referrals.domain.filters import ReferralFilters
from services.referrals.handlers import commands, queries
from services.referrals.schemas import ReferralCreateRequest, ReferralListQuery

SYSTEM = "https://ehr.example/orders"


@pytest.fixture
def uow():
    return unit_of_work()


def create(uow, at=NOW, **overrides):
    return commands.create_referral(request_command(**overrides), uow, FakeConsent(uow), at)


def listing(uow, agency=REFERRER, **filters):
    found = queries.list_referrals(ListReferrals(asking(agency), None, None, ReferralFilters(**filters)),
                                   uow, page_size=10)
    return [item["id"] for item in found["items"]]


def test_the_identifier_is_kept_shown_to_the_referrer_and_found_by_it(uow):
    first = create(uow, external_id="ORD-1", external_id_system=SYSTEM)
    other = create(uow, external_id="ORD-2")
    assert (first["external_id"], first["external_id_system"]) == ("ORD-1", SYSTEM)
    assert listing(uow, external_id="ORD-1") == [first["id"]]
    assert listing(uow, external_id="ORD-1", external_id_system=SYSTEM) == [first["id"]]
    assert listing(uow, external_id="ORD-1", external_id_system="https://other.example") == []
    assert listing(uow, external_id="ORD-2") == [other["id"]]
    # Another agency's search by the identifier finds nothing, even when it could see the referral.
    assert listing(uow, agency=STRANGER, external_id="ORD-1") == []
    assert listing(uow, agency=PEER_GROUP, external_id="ORD-1") == []


def test_one_identifier_names_one_referral_of_the_referrer(uow):
    create(uow, external_id="ORD-1", external_id_system=SYSTEM)
    with pytest.raises(Conflict):
        create(uow, external_id="ORD-1", external_id_system=SYSTEM)
    # The same value in another system is another identifier.
    assert create(uow, external_id="ORD-1")["external_id_system"] is None


def test_listing_by_participant_and_by_date(uow):
    early = create(uow, participant_id="participant-1")
    late = create(uow, at=NOW + timedelta(hours=2), participant_id="participant-1")
    assert listing(uow, participant_id="participant-1") == [late["id"], early["id"]]
    assert listing(uow, participant_id="participant-9") == []
    assert listing(uow, created_after=NOW + timedelta(hours=1)) == [late["id"]]
    assert listing(uow, created_before=NOW + timedelta(hours=1)) == [early["id"]]
    assert listing(uow, updated_after=NOW) == [late["id"]]
    assert listing(uow, referrer_agency_id=REFERRER, updated_before=NOW + timedelta(seconds=1)) == [
        early["id"]]


def test_the_http_schemas_take_the_identifier_and_the_filters():
    body = {"participant_id": "0b7c4a52-8a8e-4e43-9a3c-1f4d7f0c2a11",
            "consent_id": "0b7c4a52-8a8e-4e43-9a3c-1f4d7f0c2a12", "reason": "peer support",
            "needs": {"languages": ["en"]}, "external_id": "ORD-1", "external_id_system": SYSTEM}
    assert ReferralCreateRequest().load(body)["external_id"] == "ORD-1"
    for bad in ("a|b", " lead", "", "x" * 201):
        with pytest.raises(ValidationError) as refused:
            ReferralCreateRequest().load({**body, "external_id": bad})
        assert set(refused.value.messages) == {"external_id"}
    with pytest.raises(ValidationError) as refused:  # a system names the namespace of an id
        ReferralCreateRequest().load({**body, "external_id": None})
    assert set(refused.value.messages) == {"external_id"}
    query = ReferralListQuery().load({"external_id": "ORD-1", "updated_after": "2026-12-01T10:00:00Z",
                                      "limit": "20"})
    assert query["limit"] == 20 and query["updated_after"].year == 2026
