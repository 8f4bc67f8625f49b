"""A referral whose sealed fields fail their integrity check: the listing degrades for that row only."""

from __future__ import annotations

import pytest
from fake_referrals import FakeReferrals
from handler_fakes import NOW, FakeConsent, asking, request_command
from referral_builders import REFERRER

from services.kit.errors import Conflict
from services.referrals.adapters.integrity import UNREADABLE_DETAIL
from services.referrals.domain.commands import ListReferrals, ReadReferral
from services.referrals.domain.unreadable import UnreadableReferral
from services.referrals.handlers import commands, queries
from services.referrals.schemas import ReferralPageResult
from tests.unit.fake_unit_of_work import FakeUnitOfWork


class DamagedReferrals(FakeReferrals):
    """As the real repository answers once the sealed cells of ``damaged`` rows were altered."""

    def __init__(self) -> None:
        super().__init__()
        self.damaged: set[str] = set()

    def get(self, referral_id):
        if referral_id in self.damaged:
            raise Conflict(UNREADABLE_DETAIL)
        return super().get(referral_id)

    def page(self, **kwargs):
        items, cursor = FakeReferrals.page(self._undamaged_view(), **kwargs)
        return [self._as_stored(r) for r in items], cursor

    def _undamaged_view(self) -> FakeReferrals:
        view = FakeReferrals()
        view._stored, view._packets = self._stored, self._packets
        return view

    def _as_stored(self, referral):
        if referral.id not in self.damaged:
            return referral
        return UnreadableReferral(
            id=referral.id, status=referral.status, urgency=referral.urgency,
            referrer_agency_id=referral.referrer_agency_id, assigned_agency_id=referral.assigned_agency_id,
            participant_id=referral.participant_id, consent_id=referral.consent_id,
            created_at=referral.history[0].at, updated_at=referral.history[-1].at, match=referral.match,
            waitlisted=referral.waitlisted, handoff_open=referral.handoff_open)


@pytest.fixture
def uow():
    return FakeUnitOfWork(source="referrals", consumer="referrals.test", referrals=DamagedReferrals())


def test_one_unreadable_referral_is_marked_and_the_rest_of_the_page_is_whole(uow):
    consent = FakeConsent(uow)
    ids = [commands.create_referral(request_command(), uow, consent, NOW)["id"] for _ in range(3)]
    uow.referrals.damaged.add(ids[1])

    page = queries.list_referrals(ListReferrals(asking(REFERRER)), uow, page_size=10)

    by_id = {item["id"]: item for item in page["items"]}
    assert set(by_id) == set(ids)
    damaged = by_id[ids[1]]
    assert damaged["integrity"] == "unreadable" and damaged["status"] == "requested"
    assert "reason" not in damaged and "needs" not in damaged and damaged["history"] == []
    for whole in (by_id[ids[0]], by_id[ids[2]]):
        assert "integrity" not in whole and whole["reason"] and whole["history"]
    rendered = ReferralPageResult().dump(page)
    assert [item.get("integrity") for item in rendered["items"] if item["id"] == ids[1]] == ["unreadable"]


def test_reading_the_unreadable_referral_is_a_conflict_not_a_crash(uow):
    referral_id = commands.create_referral(request_command(), uow, FakeConsent(uow), NOW)["id"]
    uow.referrals.damaged.add(referral_id)
    with pytest.raises(Conflict, match="integrity check"):
        queries.read_referral(ReadReferral(asking(REFERRER), referral_id), uow)
