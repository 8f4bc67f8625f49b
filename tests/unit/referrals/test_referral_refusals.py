"""A referral consent refuses stores nothing but stages ``referral.refused`` (ids and codes only),
once per Idempotency-Key however often it is retried; the caller's answer is the same refusal."""

from __future__ import annotations

import pytest
from handler_fakes import (
    NOW,
    PARTICIPANT,
    REASON,
    FakeConsent,
    published,
    request_command,
    stored,
    unit_of_work,
)
from referral_builders import NEEDS, REFERRER

from services.kit.creations import creation_of
from services.kit.errors import ConsentRequired, DatabaseUnavailable
from services.referrals.handlers import commands

BODY = {"participant_id": "participant-1", "consent_id": "consent-1", "reason": REASON}


def create(uow, consent, **overrides):
    return commands.create_referral(request_command(**overrides), uow, consent, NOW)


def refused(uow, consent, **overrides) -> ConsentRequired:
    with pytest.raises(ConsentRequired) as raised:
        create(uow, consent, **overrides)
    return raised.value


def keyed(key: str = "key-1", body: dict = BODY):
    return creation_of(REFERRER, key, body)


def test_a_refusal_stages_referral_refused_with_ids_and_codes_and_stores_no_referral():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.deny_with = "expired"
    answer = refused(uow, consent, urgency="urgent")
    assert answer.extra["reason"] == "expired"
    [event] = published(uow)
    assert event["type"] == "referral.refused" and event["version"] == 1
    assert event["payload"] == {"referrer_agency_id": REFERRER, "participant_id": "participant-1",
                                "consent_id": "consent-1", "reason_code": "expired", "urgency": "urgent",
                                "language": "es"}
    assert stored(uow).all() == [] and uow.commits == 1
    words = [REASON, *PARTICIPANT.values(), "opioids", "12-step", "mon-evening"]
    assert [w for w in words if w in str(event)] == []


def test_a_referral_consent_permits_stages_no_refusal():
    uow = unit_of_work()
    create(uow, FakeConsent(uow))
    assert [e["type"] for e in published(uow)] == ["referral.requested"]


def test_a_refusal_without_a_language_carries_none_and_a_data_class_refusal_its_code():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.covered = ["contact", "demographics"]  # not the referral's reason: disclose refuses
    refused(uow, consent, needs={**NEEDS, "languages": []})
    [event] = published(uow)
    assert event["payload"]["reason_code"] == "data_class_not_covered"
    assert event["payload"]["language"] is None


def test_a_retry_under_the_same_key_is_refused_again_and_its_refusal_staged_once_with_one_id():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.deny_with = "not_yet_valid"
    first = refused(uow, consent, creation=keyed())
    again = refused(uow, consent, creation=keyed())
    assert first.extra == again.extra and str(first) == str(again)
    assert len(consent.named("disclose")) == 2  # a refusal records no creation: asked afresh
    [event] = published(uow)
    # Another process (another unit of work) derives the same id, so the outcomes log keeps one.
    elsewhere = unit_of_work()
    other_consent = FakeConsent(elsewhere)
    other_consent.deny_with = "not_yet_valid"
    refused(elsewhere, other_consent, creation=keyed())
    assert [e["id"] for e in published(elsewhere)] == [event["id"]]


def test_other_keys_and_requests_without_a_key_are_refusals_of_their_own():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.deny_with = "revoked"
    refused(uow, consent, creation=keyed("key-1"))
    refused(uow, consent, creation=keyed("key-2"))
    refused(uow, consent)
    refused(uow, consent)
    assert len({e["id"] for e in published(uow)}) == 4


def test_a_refused_key_still_makes_the_referral_once_the_consent_covers_it():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.deny_with = "discloser_not_covered"
    refused(uow, consent, creation=keyed())
    consent.deny_with = None
    view = create(uow, consent, creation=keyed())
    assert [e["type"] for e in published(uow)] == ["referral.refused", "referral.requested"]
    assert [r.id for r in stored(uow).all()] == [view["id"]]


def test_a_reason_consent_gave_no_known_code_for_is_counted_as_consent_not_found():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.deny_with = "something_new"
    answer = refused(uow, consent)
    assert answer.extra["reason"] == "something_new"  # the answer as consent gave it, unchanged
    [event] = published(uow)
    assert event["payload"]["reason_code"] == "consent_not_found"


def test_a_refusal_that_cannot_be_recorded_answers_database_unavailable():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.deny_with = "revoked"

    class Down(type(uow)):
        def __enter__(self):
            raise DatabaseUnavailable("The referrals database is unavailable or too slow.")

    uow.__class__ = Down
    with pytest.raises(DatabaseUnavailable):
        create(uow, consent)
    assert published(uow) == []


def test_a_consent_that_covers_the_reason_but_no_peer_group_is_a_refusal_counted_by_its_code():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    consent.allowed = {"agencies": [], "classes": [], "excluded": []}
    answer = refused(uow, consent)
    assert answer.extra["reason"] == "recipient_not_covered"
    [event] = published(uow)
    assert (event["type"], event["payload"]["reason_code"]) == ("referral.refused", "recipient_not_covered")
    assert stored(uow).all() == []
