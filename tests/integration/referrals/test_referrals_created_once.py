"""One object per Idempotency-Key in the services that own them, on SQLite and PostgreSQL: a
repeat answers the first object, attempts at once make one, another body under the key is refused."""

from __future__ import annotations

import pytest

from services.kit.errors import Conflict
from tests.integration.referrals.referral_support import (
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
