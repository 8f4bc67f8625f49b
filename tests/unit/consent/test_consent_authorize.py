"""The decision point: one permit case and every reason to deny."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.consent.domain import (
    DENY_REASONS,
    REDISCLOSURE_NOTICE,
    Decision,
    allowed_peer_groups,
    authorize,
    consent_summary,
    recipient_label,
)
from services.kit.errors import InvalidRequest

PEER_1 = {"agency_id": "peer-1", "kind": "peer_group"}
CLINIC_2 = {"agency_id": "clinic-2", "kind": "clinic"}


@pytest.fixture
def ask(make_consent, now):
    """Authorize a handoff-like disclosure, overriding any argument."""

    def decide(consent="default", **changes) -> Decision:
        args = {
            "discloser": "hospital-1", "recipient": PEER_1, "purpose": "peer-support-referral",
            "data_classes": ["contact", "demographics"], "participant_id": "participant-1",
            "now": now,
        } | changes
        return authorize(make_consent() if consent == "default" else consent, **args)

    return decide


def test_a_covered_disclosure_is_permitted(ask):
    assert ask() == Decision(True, "covered", "consent-1")


def test_no_consent_is_denied(ask):
    assert ask(consent=None) == Decision(False, "consent_not_found", None)


@pytest.mark.parametrize(("change", "reason"), [
    ({"participant_id": "participant-2"}, "participant_mismatch"),
    ({"discloser": "clinic-7"}, "discloser_not_covered"),
    ({"recipient": {"agency_id": "hospital-3", "kind": "hospital"}}, "recipient_not_covered"),
    ({"recipient": {"class": "sober_living"}}, "recipient_not_covered"),
    ({"purpose": "treatment"}, "purpose_not_covered"),
    ({"data_classes": ["contact", "substance-use"]}, "data_class_not_covered"),
])
def test_each_uncovered_element_is_denied_with_its_reason(ask, change, reason):
    decision = ask(**change)

    assert decision == Decision(False, reason, "consent-1")
    assert decision.reason in DENY_REASONS


def test_before_the_effective_period_is_not_yet_valid(ask, make_consent, now):
    consent = make_consent(valid_from=(now + timedelta(days=1)).isoformat())

    assert ask(consent).reason == "not_yet_valid"
    assert ask(consent, now=now + timedelta(days=1)).permit


def test_nothing_is_disclosed_before_the_signature(ask, make_consent, now):
    consent = make_consent(signature={"signed_by": "participant", "signer_name": "Ana Ruiz",
                                      "signed_at": now.isoformat(), "method": "wet-ink"})

    assert ask(consent, now=now - timedelta(minutes=1)).reason == "not_yet_valid"


def test_past_valid_until_is_expired_even_before_the_timer_runs(ask, make_consent):
    consent = make_consent()

    decision = ask(consent, now=consent.valid_until)

    assert decision == Decision(False, "expired", "consent-1")
    assert consent.status == "active"  # the timer has not marked it yet


def test_an_expired_consent_is_denied(ask, make_consent, now):
    consent = make_consent(valid_until=None, expires_on="end-of-treatment")
    consent.expiring_event_occurred("end-of-treatment", now)

    assert ask(consent).reason == "expired"


def test_a_revoked_consent_is_denied(ask, make_consent, now):
    consent = make_consent()
    consent.revoke(at=now)

    assert ask(consent) == Decision(False, "revoked", "consent-1")


def test_partial_revocation_denies_the_removed_recipient_and_permits_the_others(
    ask, make_consent, now
):
    consent = make_consent()
    consent.revoke(at=now, recipients={"agencies": ["peer-1", "clinic-2"]})

    # peer-1 was named and taken off: the peer_group class does not bring it back.
    assert ask(consent, recipient=PEER_1).reason == "revoked_for_recipient"
    assert ask(consent, recipient=CLINIC_2).reason == "revoked_for_recipient"
    assert ask(consent, recipient={"agency_id": "peer-2", "kind": "peer_group"}).permit
    assert ask(consent, recipient={"class": "peer_group"}).permit


def test_revoking_a_class_denies_its_agencies_as_revoked_for_recipient(ask, make_consent, now):
    consent = make_consent()
    consent.revoke(at=now, recipients={"classes": ["peer_group"]})

    assert ask(consent, recipient={"agency_id": "peer-2", "kind": "peer_group"}).reason == (
        "revoked_for_recipient")
    assert ask(consent, recipient=PEER_1).permit  # still named on its own


def test_network_may_act_toward_peer_groups_only_if_one_is_covered(ask, make_consent, now):
    by_agency = make_consent(recipients={"agencies": [{"id": "peer-1", "kind": "peer_group"}]})
    by_class = make_consent(recipients={"classes": ["peer_group"]})
    neither = make_consent(recipients={"agencies": [{"id": "clinic-2", "kind": "clinic"}]})
    network = {"class": "peer_group"}

    assert ask(by_agency, recipient=network).permit
    assert ask(by_class, recipient=network).permit
    assert ask(neither, recipient=network).reason == "recipient_not_covered"
    by_agency.revoke(at=now, recipients={"agencies": ["peer-1"], "classes": []})
    assert ask(by_agency, recipient=network).reason == "revoked"


def test_an_agency_named_with_another_kind_is_denied(ask):
    assert ask(recipient={"agency_id": "peer-1", "kind": "clinic"}).reason == (
        "recipient_not_covered")


@pytest.mark.parametrize("change", [
    {"recipient": {"agency_id": "peer-1"}},
    {"recipient": {"class": "everyone"}},
    {"data_classes": []},
    {"data_classes": "contact"},
])
def test_malformed_questions_are_refused(ask, change):
    with pytest.raises(InvalidRequest):
        ask(**change)


def test_naive_now_is_refused(ask, now):
    with pytest.raises(InvalidRequest):
        ask(now=now.replace(tzinfo=None))


def test_allowed_peer_groups_lists_what_matching_may_use(make_consent, now):
    consent = make_consent()

    assert allowed_peer_groups(consent) == {"agencies": ["peer-1"], "classes": ["peer_group"],
                                            "excluded": []}
    consent.revoke(at=now, recipients={"classes": ["peer_group"]})
    assert allowed_peer_groups(consent) == {"agencies": ["peer-1"], "classes": [], "excluded": []}
    consent.revoke(at=now)
    assert allowed_peer_groups(consent) == {"agencies": [], "classes": [], "excluded": []}
    assert allowed_peer_groups(None) == {"agencies": [], "classes": [], "excluded": []}


def test_a_peer_group_revoked_by_name_is_excluded_though_the_class_still_covers_peer_groups(
        make_consent, now):
    consent = make_consent()
    consent.revoke(at=now, recipients={"agencies": ["peer-1"]})
    assert allowed_peer_groups(consent) == {"agencies": [], "classes": ["peer_group"],
                                            "excluded": ["peer-1"]}


def test_summary_describes_the_scope_for_a_handoff(make_consent, now):
    consent = make_consent(agency_names={"hospital-1": "St. Mary Hospital", "peer-1": "Harbor Peers"})
    consent.revoke(at=now, recipients={"agencies": ["clinic-2"]})

    summary = consent_summary(consent)

    assert summary["version"] == 2 and summary["status"] == "active"
    assert summary["disclosers"] == [{"id": "hospital-1", "name": "St. Mary Hospital"}]
    assert summary["recipients"] == {
        "agencies": [{"id": "peer-1", "kind": "peer_group", "name": "Harbor Peers"}],
        "classes": ["peer_group"]}
    assert summary["purposes"] == ["peer-support-referral", "care-coordination"]
    assert summary["data_classes"] == ["demographics", "contact", "referral-reason"]
    assert summary["period"] == {"start": "2026-11-01T00:00:00Z", "end": "2027-11-01T00:00:00Z",
                                 "ends_with": None}
    assert summary["signed_by"] == "participant"
    assert summary["signed_at"] == "2026-11-01T10:00:00Z"
    assert summary["valid_until"] == "2027-11-01T00:00:00Z"
    assert "participant" not in summary


def test_redisclosure_notice_cites_part_2():
    assert "42 CFR part 2" in REDISCLOSURE_NOTICE
    assert "NOT sufficient" in REDISCLOSURE_NOTICE


def test_recipients_have_ledger_labels():
    assert recipient_label(PEER_1) == "peer-1"
    assert recipient_label({"class": "peer_group"}) == "network:peer_group"
