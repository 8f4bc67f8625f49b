"""One object per Idempotency-Key in the services that own them, on SQLite and PostgreSQL: a
repeat answers the first object, attempts at once make one, another body under the key is refused,
and a refusal retried under its key is refused again but told (``referral.refused``) once."""

from __future__ import annotations

import json

import pytest

from services.kit.errors import Conflict, ConsentRequired
from tests.integration.referrals.referral_support import (
    CANARIES,
    CLINIC,
    HOSPITAL,
    grant_request,
    referral_request,
)
from tests.support import settle, wait_for

ATTEMPTS = 6


def test_a_repeated_key_answers_the_first_referral_and_requests_it_once(referrals, consent, tap):
    record = consent.grant(HOSPITAL, grant_request(), idempotency_key="consent-1")
    first = referrals.create(HOSPITAL, referral_request(record), idempotency_key="referral-1")
    again = referrals.create(HOSPITAL, referral_request(record), idempotency_key="referral-1")
    assert again["id"] == first["id"]
    wait_for(lambda: tap.events("referral.requested"))
    settle(1.0)
    assert [e["payload"]["referral_id"] for e in tap.events("referral.requested")] == [first["id"]]
    assert referrals.list(HOSPITAL)["items"] == [again]


def test_a_refused_request_retried_under_its_key_is_refused_each_time_and_told_once(
        referrals, consent, tap):
    other_purpose = consent.grant(HOSPITAL, grant_request(purposes=["treatment"]))
    body = referral_request(other_purpose)
    for key in ("refused-1", "refused-1", "refused-2"):
        with pytest.raises(ConsentRequired) as refused:
            referrals.create(HOSPITAL, body, idempotency_key=key)
        assert refused.value.extra["reason"] == "purpose_not_covered"
    wait_for(lambda: len(tap.events("referral.refused")) == 2, what="a refusal per key")
    settle(1.0)
    told = tap.events("referral.refused")
    assert len(told) == 2 and len({e["id"] for e in told}) == 2
    assert {e["payload"]["reason_code"] for e in told} == {"purpose_not_covered"}
    assert told[0]["payload"] == {
        "referrer_agency_id": HOSPITAL["agency_id"], "participant_id": other_purpose["participant_id"],
        "consent_id": other_purpose["id"], "reason_code": "purpose_not_covered",
        "urgency": body["urgency"], "language": body["needs"]["languages"][0].lower()}
    assert not any(canary in json.dumps(told) for canary in CANARIES)
    assert referrals.list(HOSPITAL)["items"] == [] and tap.events("referral.requested") == []


def test_attempts_at_once_with_one_key_make_one_referral(referrals, consent, tap):
    record = consent.grant(HOSPITAL, grant_request())
    body = referral_request(record)
    replies = [referrals.create.call_async(HOSPITAL, body, idempotency_key="burst-1")
               for _ in range(ATTEMPTS)]
    ids = {reply.result()["id"] for reply in replies}
    assert len(ids) == 1
    wait_for(lambda: tap.events("referral.requested"))
    settle(1.0)
    assert len(tap.events("referral.requested")) == 1
    assert [item["id"] for item in referrals.list(HOSPITAL)["items"]] == list(ids)


def test_attempts_at_once_with_one_key_record_one_consent(consent, tap):
    body = grant_request()
    replies = [consent.grant.call_async(HOSPITAL, body, idempotency_key="grant-1")
               for _ in range(ATTEMPTS)]
    assert len({reply.result()["id"] for reply in replies}) == 1
    wait_for(lambda: tap.events("consent.granted"))
    settle(1.0)
    assert len(tap.events("consent.granted")) == 1


def test_a_key_used_for_another_request_is_a_conflict_and_creates_nothing(referrals, consent, tap):
    record = consent.grant(HOSPITAL, grant_request())
    referrals.create(HOSPITAL, referral_request(record), idempotency_key="reused")
    with pytest.raises(Conflict):
        referrals.create(HOSPITAL, referral_request(record, reason="another"), idempotency_key="reused")
    wait_for(lambda: tap.events("referral.requested"))
    settle(1.0)
    assert len(tap.events("referral.requested")) == 1
    assert len(referrals.list(HOSPITAL)["items"]) == 1


def test_keys_belong_to_the_asking_agency(referrals, consent):
    mine = consent.grant(HOSPITAL, grant_request(), idempotency_key="same-key")
    theirs = consent.grant(CLINIC, grant_request(disclosers=[CLINIC["agency_id"]]),
                           idempotency_key="same-key")
    assert mine["id"] != theirs["id"]
