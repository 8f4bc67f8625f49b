"""Granting, reading, revoking and ending consents, through the handlers and a fake unit of work."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.consent import handlers
from services.consent.domain.commands import (
    AttestConsent,
    AuthorizeDisclosure,
    EndTreatment,
    ExpireDueConsents,
    GrantConsent,
    ReadConsent,
    RevokeConsent,
)
from services.kit.errors import Conflict, Forbidden, InvalidRequest, NotFound
from tests.unit.consent.conftest import NOW, asking

LATER = NOW + timedelta(days=2)


def test_grant_stores_ledgers_and_publishes_the_new_consent(uow, consents, ledger, granted):
    view = granted()

    assert view["status"] == "active" and view["version"] == 1 and view["holder"] == "hospital-1"
    assert uow.types() == ["consent.granted"]
    assert uow.published[0].payload["consent_id"] == view["id"]
    assert [(e.action, e.actor, e.subject) for e in ledger.rows] == [
        ("consent.granted", "hospital-1", view["id"])]
    assert consents.get(view["id"]).holder == "hospital-1"


def test_grant_answers_and_ledgers_no_personal_details(uow, ledger, granted):
    view = granted()

    written = f"{view} {[e.as_dict() for e in ledger.rows]} {uow.published[0].payload}"
    for personal in ("Ana", "Ruiz", "1990-04-02", "+15555550100", "ana@example.org"):
        assert personal not in written


def test_grant_names_every_missing_element_and_writes_nothing(uow, consents, ledger, granted):
    with pytest.raises(InvalidRequest) as refused:
        granted(purposes=None, signature=None, recipients=None)

    assert {"purposes", "signature", "recipients"} <= set(refused.value.errors)
    assert ledger.rows == [] and uow.published == [] and consents.state == {}


@pytest.mark.parametrize("reader", ["hospital-1", "peer-1", "clinic-2"])
def test_holder_disclosers_and_named_recipients_read_the_consent(uow, granted, reader):
    consent_id = granted()["id"]

    view = handlers.get(ReadConsent(asking(reader), consent_id), uow)

    assert view["id"] == consent_id and view["recipients"]["agencies"] == ["peer-1", "clinic-2"]


def test_another_agencys_consent_is_not_found(uow, granted):
    consent_id = granted()["id"]

    with pytest.raises(NotFound):
        handlers.get(ReadConsent(asking("hospital-7"), consent_id), uow)
    with pytest.raises(NotFound):
        handlers.get(ReadConsent(asking("hospital-1"), "no-such-consent"), uow)
    # No administrator reads a consent that does not name its agency: not another agency's
    # admin, not the network operator; the holder's own admin does.
    for stranger in (asking("admin-1", admin=True), asking("operator-1")):
        with pytest.raises(NotFound):
            handlers.get(ReadConsent(stranger, consent_id), uow)
    assert handlers.get(ReadConsent(asking("hospital-1", admin=True), consent_id), uow)["id"] == consent_id


def test_full_revocation_is_saved_ledgered_and_published(uow, ledger, granted, ledger_keys):
    consent_id = granted()["id"]

    view = handlers.revoke(RevokeConsent(asking("hospital-1"), consent_id, "changed my mind"),
                           uow, ledger_keys, LATER)

    assert view["status"] == "revoked" and view["version"] == 2
    assert uow.types() == ["consent.granted", "consent.revoked"]
    revoked = uow.published[-1].payload
    assert revoked["full"] is True and sorted(revoked["revoked"]["agencies"]) == ["clinic-2", "peer-1"]
    entry = ledger.rows[-1]
    assert (entry.action, entry.details["reason_recorded"]) == ("consent.revoked", True)
    assert "changed my mind" not in str(entry.as_dict())
    assert handlers.get(ReadConsent(asking("hospital-1"), consent_id), uow)["status"] == "revoked"


def test_partial_revocation_leaves_the_other_recipients_in_force(uow, granted, ledger_keys):
    consent_id = granted()["id"]
    command = RevokeConsent(asking("hospital-1"), consent_id, "moved away", {"agencies": ["clinic-2"]})

    view = handlers.revoke(command, uow, ledger_keys, LATER)

    assert view["status"] == "active"
    assert view["recipients"]["agencies"] == ["peer-1"] and view["revoked"]["agencies"] == ["clinic-2"]
    assert uow.published[-1].payload["full"] is False


def test_a_repeated_revocation_records_and_publishes_nothing_more(uow, ledger, granted, ledger_keys):
    consent_id = granted()["id"]
    command = RevokeConsent(asking("hospital-1"), consent_id, "moved away", {"agencies": ["clinic-2"]})
    handlers.revoke(command, uow, ledger_keys, LATER)
    entries, events = len(ledger.rows), len(uow.published)

    again = handlers.revoke(command, uow, ledger_keys, LATER)

    assert again["version"] == 2
    assert (len(ledger.rows), len(uow.published)) == (entries, events)


def test_only_the_holder_may_revoke(uow, ledger, granted, ledger_keys):
    consent_id = granted()["id"]

    with pytest.raises(Forbidden):
        handlers.revoke(RevokeConsent(asking("peer-1"), consent_id, "no"), uow, ledger_keys, LATER)
    with pytest.raises(NotFound):
        handlers.revoke(RevokeConsent(asking("hospital-7"), consent_id, "no"), uow, ledger_keys, LATER)
    assert uow.types() == ["consent.granted"] and len(ledger.rows) == 1
    assert handlers.get(ReadConsent(asking("hospital-1"), consent_id), uow)["status"] == "active"


def test_revoking_an_uncovered_recipient_is_refused_and_changes_nothing(uow, granted, ledger_keys):
    consent_id = granted()["id"]
    command = RevokeConsent(asking("hospital-1"), consent_id, "no", {"agencies": ["hospital-9"]})

    with pytest.raises(InvalidRequest):
        handlers.revoke(command, uow, ledger_keys, LATER)

    assert handlers.get(ReadConsent(asking("hospital-1"), consent_id), uow)["version"] == 1
    assert uow.types() == ["consent.granted"]


def test_end_of_treatment_expires_a_consent_that_ends_with_it(uow, ledger, granted, ledger_keys):
    consent_id = granted(valid_until=None, expires_on="end-of-treatment")["id"]

    view = handlers.end_treatment(EndTreatment(asking("hospital-1"), consent_id), uow, ledger_keys, LATER)
    again = handlers.end_treatment(EndTreatment(asking("hospital-1"), consent_id), uow, ledger_keys, LATER)

    assert view["status"] == again["status"] == "expired"
    assert uow.types() == ["consent.granted", "consent.expired"]
    assert ledger.rows[-1].action == "consent.expired"


def test_end_of_treatment_is_refused_for_a_dated_consent_and_for_recipients(uow, granted, ledger_keys):
    dated = granted()["id"]
    ending = granted(valid_until=None, expires_on="end-of-treatment")["id"]

    with pytest.raises(Conflict):
        handlers.end_treatment(EndTreatment(asking("hospital-1"), dated), uow, ledger_keys, LATER)
    with pytest.raises(Forbidden):
        handlers.end_treatment(EndTreatment(asking("peer-1"), ending), uow, ledger_keys, LATER)
    assert uow.types() == ["consent.granted", "consent.granted"]


def test_the_recording_agency_must_be_a_discloser(uow, consents, ledger, granted):
    with pytest.raises(InvalidRequest) as refused:
        granted(holder="clinic-2")

    assert refused.value.errors == {"disclosers": ["must include the agency recording the consent"]}
    assert consents.state == {} and ledger.rows == []


def handoff_by(discloser: str, consent: dict) -> AuthorizeDisclosure:
    return AuthorizeDisclosure(discloser, {"agency_id": "peer-1", "kind": "peer_group"},
                               "peer-support-referral", ["contact"], consent["participant_id"],
                               consent["id"], asking=discloser)


def test_a_further_discloser_is_covered_only_once_it_attests(uow, ledger, granted, ledger_keys):
    consent = granted(disclosers=["hospital-1", "clinic-2"])

    before = handlers.authorize(handoff_by("clinic-2", consent), uow, ledger_keys, LATER)
    view = handlers.attest(AttestConsent(asking("clinic-2"), consent["id"]), uow, ledger_keys, LATER)
    after = handlers.authorize(handoff_by("clinic-2", consent), uow, ledger_keys, LATER)

    assert (before["permit"], before["reason"]) == (False, "discloser_not_covered")
    assert after["permit"] is True
    assert view["attested_disclosers"] == ["hospital-1", "clinic-2"] and view["version"] == 2
    attested = [e for e in ledger.rows if e.action == "consent.attested"]
    # The row names the agency and who acted in it.
    assert [(e.actor, e.details["discloser"], e.details["by"]) for e in attested] == [
        ("clinic-2", "clinic-2", "key:default")]
    assert uow.types() == ["consent.granted"]  # ledgered, not published


def test_only_a_named_discloser_may_attest(uow, granted, ledger_keys):
    consent = granted(disclosers=["hospital-1", "clinic-2"])

    with pytest.raises(Forbidden):
        handlers.attest(AttestConsent(asking("peer-1"), consent["id"]), uow, ledger_keys, LATER)
    with pytest.raises(NotFound):
        handlers.attest(AttestConsent(asking("hospital-7"), consent["id"]), uow, ledger_keys, LATER)
    assert handlers.attest(AttestConsent(asking("hospital-1"), consent["id"]), uow, ledger_keys,
                           LATER)["version"] == 1  # the holder attested by recording it


def test_only_the_holder_ends_a_consent_with_treatment(uow, granted, ledger_keys):
    ending = granted(disclosers=["hospital-1", "clinic-2"], valid_until=None,
                     expires_on="end-of-treatment")["id"]

    with pytest.raises(Forbidden):
        handlers.end_treatment(EndTreatment(asking("clinic-2"), ending), uow, ledger_keys, LATER)


def test_a_consent_ending_with_treatment_ends_after_the_maximum_lifetime(uow, request_body,
                                                                          ledger_keys):
    body = {**request_body, "expires_on": "end-of-treatment"}
    del body["valid_until"]
    view = handlers.grant(GrantConsent(asking("hospital-1"), body), uow, ledger_keys, NOW,
                          end_of_treatment_lifetime=timedelta(days=30))

    assert (view["expires_on"], view["valid_until"]) == ("end-of-treatment", "2026-12-01T00:00:00Z")
    assert handlers.expire_due(ExpireDueConsents(), uow, ledger_keys, NOW + timedelta(days=29)) == 0
    assert handlers.expire_due(ExpireDueConsents(), uow, ledger_keys, NOW + timedelta(days=31)) == 1


def test_a_holder_outside_the_disclosers_is_named_with_every_other_problem(uow, granted):
    with pytest.raises(InvalidRequest) as refused:
        granted(holder="clinic-2", purposes=None)

    assert set(refused.value.errors) == {"disclosers", "purposes"}
