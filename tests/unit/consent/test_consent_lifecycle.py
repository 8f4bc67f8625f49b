"""Revoking (in part or in full) and expiring a consent, and reading its earlier versions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.consent.domain import ConsentExpired, ConsentRevoked
from services.kit.contract import new_event
from services.kit.errors import Conflict, InvalidRequest, NotFound


def test_partial_revocation_leaves_the_rest_in_force(make_consent, now):
    consent = make_consent()

    event = consent.revoke(at=now, reason="moved away", recipients={"agencies": ["clinic-2"]})

    assert consent.status == "active"
    assert consent.recipients.agency_ids == ("peer-1",)
    assert consent.revoked.agency_ids == ("clinic-2",)
    assert event == ConsentRevoked(
        "consent-1", "participant-1",
        revoked={"agencies": ["clinic-2"], "classes": []},
        remaining={"agencies": ["peer-1"], "classes": ["peer_group"]},
        full=False, occurred_at=now,
    )
    assert consent.events[-1] is event
    new_event(event.type, event.payload(), source="consent")  # fits the contract


def test_revoking_the_last_recipient_is_a_full_revocation(make_consent, now):
    consent = make_consent()
    consent.revoke(at=now, recipients={"agencies": ["clinic-2"], "classes": ["peer_group"]})

    event = consent.revoke(at=now, recipients={"agencies": [{"id": "peer-1", "kind": "peer_group"}]})

    assert event.full is True
    assert consent.status == "revoked"
    assert consent.revoked_at == now
    assert event.remaining == {"agencies": [], "classes": []}


def test_full_revocation_takes_every_remaining_recipient(make_consent, now):
    consent = make_consent()

    event = consent.revoke(at=now, reason="changed my mind")

    assert consent.status == "revoked"
    assert event.full is True
    assert event.revoked == {"agencies": ["peer-1", "clinic-2"], "classes": ["peer_group"]}
    assert consent.revocation_reason == "changed my mind"


def test_revoking_someone_the_consent_does_not_cover_is_refused(make_consent, now):
    consent = make_consent()

    with pytest.raises(InvalidRequest) as caught:
        consent.revoke(at=now, recipients={"agencies": ["clinic-9"], "classes": ["hospital"]})

    assert set(caught.value.errors) == {"recipients.agencies.0", "recipients.classes.0"}
    assert consent.version == 1 and len(consent.events) == 1


def test_naming_nobody_to_revoke_is_refused(make_consent, now):
    consent = make_consent()

    with pytest.raises(InvalidRequest):
        consent.revoke(at=now, recipients={"agencies": []})


def test_a_revoked_or_expired_consent_cannot_be_revoked_again(make_consent, now):
    revoked = make_consent()
    revoked.revoke(at=now)
    with pytest.raises(Conflict):
        revoked.revoke(at=now)

    lapsed = make_consent()
    with pytest.raises(Conflict):
        lapsed.revoke(at=lapsed.valid_until + timedelta(seconds=1))


def test_every_change_bumps_the_version_and_keeps_earlier_versions_readable(make_consent, now):
    consent = make_consent()
    consent.revoke(at=now + timedelta(hours=1), recipients={"classes": ["peer_group"]})
    consent.revoke(at=now + timedelta(hours=2))

    assert consent.version == 3
    assert [v["version"] for v in consent.versions] == [1, 2, 3]
    first = consent.at_version(1)
    assert first["status"] == "active"
    assert first["recipients"]["classes"] == ["peer_group"]
    assert consent.at_version(2)["recipients"]["classes"] == []
    assert consent.at_version(3)["status"] == "revoked"
    with pytest.raises(NotFound):
        consent.at_version(4)


def test_earlier_versions_cannot_be_changed_through_what_is_read(make_consent):
    consent = make_consent()

    consent.at_version(1)["status"] = "revoked"
    consent.versions[0]["status"] = "revoked"

    assert consent.at_version(1)["status"] == "active"


def test_timer_expires_a_consent_at_valid_until(make_consent):
    consent = make_consent()

    assert consent.expire_if_due(consent.valid_until - timedelta(seconds=1)) is False
    assert consent.expire_if_due(consent.valid_until + timedelta(hours=3)) is True

    assert consent.status == "expired"
    assert consent.expired_at == consent.valid_until
    assert consent.events[-1] == ConsentExpired("consent-1", "participant-1", consent.valid_until)
    assert consent.version == 2
    assert consent.expire_if_due(consent.valid_until + timedelta(days=1)) is False


def test_end_of_treatment_expires_a_consent_that_ends_on_it(make_consent, now):
    consent = make_consent(valid_until=None, expires_on="end-of-treatment")

    assert consent.expire_if_due(now + timedelta(days=3650)) is False
    assert consent.expiring_event_occurred("end-of-treatment", now) is True

    assert consent.status == "expired"
    assert consent.expired_at == now
    assert isinstance(consent.events[-1], ConsentExpired)


def test_end_of_treatment_does_not_touch_a_consent_with_a_date(make_consent, now):
    consent = make_consent()

    assert consent.expiring_event_occurred("end-of-treatment", now) is False
    assert consent.status == "active" and consent.version == 1


def test_a_revoked_consent_does_not_expire(make_consent, now):
    consent = make_consent()
    consent.revoke(at=now)

    assert consent.expire_if_due(consent.valid_until) is False
    assert consent.status == "revoked"
