"""A consent's life through RPC and events: granted, revoked exactly once however often the
revocation arrives, expired by the timer (and denied before it runs), ended with treatment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.kit.errors import Conflict, InvalidRequest
from tests.integration.consent.support import HOSPITAL, OPERATOR, ask, grant_request
from tests.support import settle, wait_for


def test_grant_publishes_consent_granted_and_keeps_every_version(consent, events):
    granted = consent.grant(HOSPITAL, grant_request())

    assert granted["status"] == "active" and granted["version"] == 1
    assert granted["signature"] == {"signed_by": "participant", "method": "electronic",
                                    "signed_at": granted["signature"]["signed_at"]}
    assert "participant" not in granted
    [event] = wait_for(lambda: events.of_type("consent.granted", granted["id"]))
    assert event["payload"]["recipients"] == {"agencies": ["peer-1", "clinic-2"],
                                              "classes": ["peer_group"]}
    assert event["payload"]["participant_id"] == granted["participant_id"]


def test_a_consent_missing_elements_is_refused_naming_each(consent):
    body = grant_request(purposes=None, signature={"signed_by": "participant", "method": "electronic"})
    body["participant"].pop("birth_date")

    with pytest.raises(InvalidRequest) as refused:
        consent.grant(HOSPITAL, body)

    assert {"purposes", "participant.birth_date", "signature.signer_name",
            "signature.signed_at"} <= set(refused.value.errors)


def test_a_representative_signs_on_paper_under_a_stated_authority(consent):
    body = grant_request(signature={"signed_by": "representative", "signer_name": "Rosa Ruiz",
                                    "authority": "legal guardian",
                                    "signed_at": grant_request()["signature"]["signed_at"],
                                    "method": "wet-ink"})
    assert consent.grant(HOSPITAL, body)["signature"] == {
        "signed_by": "representative", "signed_at": body["signature"]["signed_at"], "method": "wet-ink"}


def test_revocation_is_published_once_when_retried_or_handled_twice(consent, events):
    retried = consent.grant(HOSPITAL, grant_request())
    raced = consent.grant(HOSPITAL, grant_request())
    partial = consent.grant(HOSPITAL, grant_request())

    first = consent.revoke(HOSPITAL, retried["id"], {"reason": "moved away"})
    again = consent.revoke(HOSPITAL, retried["id"], {"reason": "moved away"})
    replies = [consent.revoke.call_async(HOSPITAL, raced["id"], {"reason": "moved away"})
               for _ in range(4)]
    views = [reply.result() for reply in replies]
    narrow = {"reason": "not them", "recipients": {"agencies": ["clinic-2"]}}
    partial_views = [consent.revoke(HOSPITAL, partial["id"], narrow) for _ in range(2)]

    assert first == again and first["status"] == "revoked" and first["version"] == 2
    assert {v["version"] for v in views} == {2} and {v["status"] for v in views} == {"revoked"}
    assert partial_views[0] == partial_views[1] and partial_views[0]["version"] == 2
    wait_for(lambda: len(events.of_type("consent.revoked")) >= 3)
    settle(0.6)  # time for any duplicate to arrive
    for granted in (retried, raced, partial):
        assert len(events.of_type("consent.revoked", granted["id"])) == 1
    revocations = consent.ledger(OPERATOR, {"limit": 1000, "action": "consent.revoked"})["items"]
    assert len(revocations) == 3
    with pytest.raises(Conflict):  # a revoked consent cannot be narrowed any further
        consent.revoke(HOSPITAL, retried["id"], {"reason": "x", "recipients": {"classes": ["clinic"]}})


def test_expired_is_denied_before_the_timer_and_the_timer_publishes_it(start_service, config,
                                                                        clock_file, events):
    now = datetime.now(UTC)
    clock_file(now)
    replica = start_service(config, CLOCK_FILE=clock_file.path, TIMERS_ENABLED=False)
    granted = replica.grant(HOSPITAL, grant_request(now))
    clock_file(now + timedelta(days=2))

    assert replica.authorize(**ask(granted))["reason"] == "expired"
    assert replica.get(HOSPITAL, granted["id"])["status"] == "active"  # no timer here
    replica.container.stop()

    timed = start_service(config, CLOCK_FILE=clock_file.path, EXPIRY_CHECK_SECONDS=0.1)
    [event] = wait_for(lambda: events.of_type("consent.expired", granted["id"]))
    assert event["payload"] == {"consent_id": granted["id"], "participant_id": granted["participant_id"]}
    expired = timed.get(HOSPITAL, granted["id"])
    assert expired["status"] == "expired" and expired["expired_at"] == granted["valid_until"]
    settle(0.5)  # the timer keeps running: nothing is expired twice
    assert len(events.of_type("consent.expired", granted["id"])) == 1
    assert timed.authorize(**ask(granted))["reason"] == "expired"
    with pytest.raises(Conflict):
        timed.revoke(HOSPITAL, granted["id"], {"reason": "too late"})


def test_end_of_treatment_expires_a_consent_that_ends_with_it(consent, events):
    granted = consent.grant(HOSPITAL, grant_request(valid_until=None, expires_on="end-of-treatment"))
    dated = consent.grant(HOSPITAL, grant_request())

    ended = consent.end_treatment(HOSPITAL, granted["id"])
    again = consent.end_treatment(HOSPITAL, granted["id"])

    assert ended["status"] == "expired" and again == ended
    assert consent.authorize(**ask(granted))["reason"] == "expired"
    with pytest.raises(Conflict):
        consent.end_treatment(HOSPITAL, dated["id"])
    wait_for(lambda: events.of_type("consent.expired", granted["id"]))
    settle(0.4)
    assert len(events.of_type("consent.expired", granted["id"])) == 1
