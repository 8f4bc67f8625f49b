"""One referral per Idempotency-Key: a repeat answers it without asking consent again, an attempt
that loses the race answers the winner's referral, another request under the key is a conflict."""

from __future__ import annotations

import pytest
from handler_fakes import NOW, REASON, FakeConsent, published, request_command, stored, unit_of_work
from referral_builders import REFERRER

from services.kit.creations import creation_of
from services.kit.errors import Conflict
from services.referrals.handlers import commands

BODY = {"participant_id": "participant-1", "consent_id": "consent-1", "reason": REASON}


def keyed(key: str = "key-1", body: dict = BODY, **overrides):
    return request_command(creation=creation_of(REFERRER, key, body), **overrides)


def test_a_repeated_key_answers_the_first_referral_without_asking_consent_again():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    first = commands.create_referral(keyed(), uow, consent, NOW)
    again = commands.create_referral(keyed(), uow, consent, NOW)
    assert again == first
    assert len(consent.named("covered_classes")) == 1
    assert len(consent.named("disclose")) == 1
    assert [e["type"] for e in published(uow)] == ["referral.requested"]
    assert len(stored(uow).all()) == 1


def test_an_attempt_that_loses_the_race_answers_the_winners_referral():
    uow = unit_of_work()

    class RacingConsent(FakeConsent):
        """While this attempt asks consent, another with the same key completes."""

        def covered_classes(self, **request):
            if not self.calls:
                self.winner = commands.create_referral(keyed(), uow, FakeConsent(uow), NOW)
            return super().covered_classes(**request)

    consent = RacingConsent(uow)
    loser = commands.create_referral(keyed(), uow, consent, NOW)
    assert loser == consent.winner
    assert len(stored(uow).all()) == 1 and len(published(uow)) == 1


def test_a_key_used_for_another_request_is_a_conflict():
    uow = unit_of_work()
    consent = FakeConsent(uow)
    commands.create_referral(keyed(), uow, consent, NOW)
    with pytest.raises(Conflict):
        commands.create_referral(keyed(body={**BODY, "reason": "other"}), uow, consent, NOW)
    assert len(stored(uow).all()) == 1
