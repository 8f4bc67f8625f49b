"""Responses are dumped through schemas: declared fields only, timestamps as ISO-8601."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.problems import problem_body
from gateway.schemas import ProblemSchema
from services.consent.schemas import ConsentSchema
from services.kit.errors import NotFound
from services.referrals.domain import MatchInfo, Referral
from services.referrals.domain.views import referral_view
from services.referrals.schemas import ReferralResult

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_referral_view_dumps_as_the_api_shape():
    referral = Referral.request(
        referrer_agency_id="a-1", participant_id="p-1", consent_id="c-1", reason="after detox",
        urgency="routine", needs={"languages": ["es"]},
        allowed={"agencies": [], "classes": ["peer_group"]}, at=T0)
    referral.accept_match(MatchInfo("m-1", "mentor-1", "a-2", 0.8), permitted=True,
                          at=T0 + timedelta(hours=1))
    dumped = ReferralResult().dump(referral_view(referral, "a-2"))
    assert dumped["status"] == "accepted" and dumped["match"]["mentor_id"] == "mentor-1"
    assert dumped["history"][0] == {"status": "requested", "at": T0.isoformat(), "by": "a-1",
                                    "reason": None, "reason_code": None}
    assert "reason" not in dumped


def test_undeclared_fields_never_reach_the_client():
    dumped = ConsentSchema().dump({
        "id": "c-1", "participant_id": "p-1", "status": "active",
        "participant": {"given_name": "Ana"}, "signature": {"signer_name": "Ana Ruiz",
                                                             "signed_by": "participant"},
        "valid_from": T0})
    assert "participant" not in dumped and "signer_name" not in dumped["signature"]
    assert dumped["valid_from"] == T0.isoformat()


def test_the_problem_schema_describes_problem_bodies():
    body = problem_body(NotFound("No such referral."))
    assert ProblemSchema().dump(body) == body
