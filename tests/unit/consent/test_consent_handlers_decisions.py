"""The decision point through its handlers: every decision ledgered in the unit of work that
answers it, disclosures accounted for, reads of personal details recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.consent import handlers
from services.consent.domain import REDISCLOSURE_NOTICE, Consent
from services.consent.domain.commands import (
    AuthorizeDisclosure,
    CoveredClasses,
    Disclose,
    ReadConsent,
    RecordAccess,
    RecordChange,
    RevokeConsent,
)
from services.kit.errors import ConsentRequired
from services.kit.messages import Caller
from tests.unit.consent.conftest import NOW, asking

ASKED_AT = NOW + timedelta(hours=1)
PEER_1 = {"agency_id": "peer-1", "kind": "peer_group"}
HOSPITAL_3 = {"agency_id": "hospital-3", "kind": "hospital"}


def question(consent: dict, command=AuthorizeDisclosure, **changes):
    """A handoff-like question about ``consent``: hospital-1 gives peer-1 the contact details."""
    fields = {"discloser": "hospital-1", "recipient": PEER_1, "purpose": "peer-support-referral",
              "data_classes": ["contact"], "participant_id": consent["participant_id"],
              "consent_id": consent["id"]} | changes
    return command(**fields)


def test_a_permit_is_ledgered_and_committed_with_the_answer(uow, ledger, granted, ledger_keys):
    consent = granted()
    commits = uow.commits

    answer = handlers.authorize(question(consent), uow, ledger_keys, ASKED_AT)

    assert (answer["permit"], answer["reason"], answer["consent_id"]) == (True, "covered", consent["id"])
    assert answer["allowed"]["agencies"] == ["peer-1"] and answer["allowed"]["classes"] == ["peer_group"]
    assert uow.commits == commits + 1
    entry = ledger.rows[-1]
    assert (entry.action, entry.actor, entry.subject) == ("decision", "hospital-1", consent["id"])
    assert entry.details["decision_id"] == answer["decision_id"] and entry.details["permit"] is True


def test_a_deny_is_ledgered_with_its_reason(uow, ledger, granted, ledger_keys):
    consent = granted()

    answer = handlers.authorize(question(consent, recipient=HOSPITAL_3), uow, ledger_keys, ASKED_AT)

    assert (answer["permit"], answer["reason"]) == (False, "recipient_not_covered")
    assert answer["allowed"] == {"agencies": [], "classes": [], "excluded": []}
    details = ledger.rows[-1].details
    assert (details["permit"], details["reason"], details["recipient"]) == (
        False, "recipient_not_covered", "hospital-3")


def test_an_unknown_consent_is_a_ledgered_deny(uow, ledger, granted, ledger_keys):
    consent = granted()

    answer = handlers.authorize(question(consent, consent_id="no-such-consent"), uow, ledger_keys,
                                ASKED_AT)

    assert (answer["permit"], answer["reason"], answer["consent_id"]) == (False, "consent_not_found", None)
    assert ledger.rows[-1].subject == "no-such-consent"


def test_without_a_consent_named_a_permitting_consent_of_the_participant_is_used(
        uow, consents, granted, request_body, ledger_keys):
    older = granted()
    clinic_only = {"agencies": [{"id": "clinic-2", "kind": "clinic"}], "classes": []}
    newer = Consent.grant({**request_body, "recipients": clinic_only}, consent_id="consent-newer",
                          participant_id=older["participant_id"], holder="hospital-1",
                          now=NOW + timedelta(minutes=5))
    consents.add(newer, "hospital-1", NOW)
    consents.commit()

    permitted = handlers.authorize(question(older, consent_id=None), uow, ledger_keys, ASKED_AT)
    denied = handlers.authorize(question(older, consent_id=None, recipient=HOSPITAL_3),
                                uow, ledger_keys, ASKED_AT)

    assert (permitted["permit"], permitted["consent_id"]) == (True, older["id"])
    # No consent permits: the newest one's deny is the answer.
    assert (denied["permit"], denied["consent_id"]) == (False, "consent-newer")


def test_a_revoked_consent_is_denied(uow, granted, ledger_keys):
    consent = granted()
    handlers.revoke(RevokeConsent(asking("hospital-1"), consent["id"], "no"), uow, ledger_keys, ASKED_AT)

    answer = handlers.authorize(question(consent), uow, ledger_keys, ASKED_AT)

    assert (answer["permit"], answer["reason"]) == (False, "revoked")


def test_disclose_releases_only_the_permitted_details_and_accounts_for_them(
        uow, ledger, disclosures, granted, ledger_keys):
    consent = granted()

    answer = handlers.disclose(question(consent, Disclose), uow, ledger_keys, ASKED_AT)

    assert answer["participant"] == {"phone": "+15555550100", "email": "ana@example.org"}
    assert answer["consent"]["id"] == consent["id"]
    assert answer["redisclosure_notice"] == REDISCLOSURE_NOTICE
    decision, disclosure = ledger.rows[-2:]
    assert (decision.action, disclosure.action) == ("decision", "disclosure")
    assert disclosure.details["decision_id"] == answer["decision_id"]
    [row] = disclosures.state
    assert (row["recipient"], row["data_classes"], row["ledger_seq"]) == ("peer-1", ["contact"],
                                                                         disclosure.seq)
    assert "+15555550100" not in str([e.as_dict() for e in ledger.rows]) + str(row)


def test_a_disclosure_that_releases_no_details_does_not_unseal_them(
        uow, consents, ledger, granted, ledger_keys):
    """A referral's disclosure to the network (its reason) releases no participant details: the
    consent is read with its terms only, so nothing personal is decrypted for it."""
    consent = granted()
    unsealed = consents.unsealed

    answer = handlers.disclose(question(consent, Disclose, data_classes=["referral-reason"]),
                               uow, ledger_keys, ASKED_AT)

    assert answer["participant"] == {}
    assert answer["consent"]["id"] == consent["id"]
    assert consents.unsealed == unsealed
    assert ledger.rows[-1].action == "disclosure"
    handlers.disclose(question(consent, Disclose), uow, ledger_keys, ASKED_AT)
    assert consents.unsealed == unsealed + 1


def test_a_denied_disclosure_raises_after_the_deny_is_committed(
        uow, ledger, disclosures, granted, ledger_keys):
    consent = granted()
    commits = uow.commits

    with pytest.raises(ConsentRequired) as denied:
        handlers.disclose(question(consent, Disclose, purpose="treatment", asking="hospital-1"),
                          uow, ledger_keys, ASKED_AT)

    assert denied.value.extra["reason"] == "purpose_not_covered"
    assert uow.commits == commits + 1
    entry = ledger.rows[-1]
    assert (entry.action, entry.details["permit"]) == ("decision", False)
    assert entry.details["reason"] == "purpose_not_covered"
    assert entry.details["decision_id"] == denied.value.extra["decision_id"]
    assert disclosures.state == []


def test_record_access_ledgers_the_read(uow, ledger, ledger_keys):
    command = RecordAccess("peer-1", "participant-9", "handoff:referral-4")

    answer = handlers.record_access(command, uow, ledger_keys, ASKED_AT)

    entry = ledger.rows[-1]
    assert answer == {"seq": entry.seq} == {"seq": 1}
    assert (entry.actor, entry.action, entry.subject, entry.participant_id) == (
        "peer-1", "access", "handoff:referral-4", "participant-9")
    assert uow.commits == 1


def test_covered_classes_names_what_the_consent_covers_and_ledgers_nothing(uow, ledger, granted):
    consent = granted()
    rows = len(ledger.rows)
    asked = CoveredClasses(
        discloser="hospital-1", recipient={"class": "peer_group"}, purpose="peer-support-referral",
        data_classes=["referral-reason", "substance-use", "contact"],
        participant_id=consent["participant_id"], consent_id=consent["id"])

    answer = handlers.covered_classes(asked, uow, ASKED_AT)

    assert answer["covered"] == ["referral-reason", "contact"]  # no substance-use in this consent
    assert answer["allowed"]["classes"] == ["peer_group"]
    assert len(ledger.rows) == rows
    stranger = handlers.covered_classes(
        CoveredClasses(**{**asked.__dict__, "discloser": "clinic-9"}), uow, ASKED_AT)
    assert stranger["covered"] == [] and stranger["allowed"]["agencies"] == []


def admit(uow, ledger_keys, agency_id: str, at) -> None:
    operator = Caller("operator-1", "operator", frozenset({"operator"}), "key:ops")
    handlers.record_change(RecordChange(operator, "agency.created", agency_id, {"kind": "peer_group"}),
                           uow, ledger_keys, at)


@pytest.mark.parametrize("later_members,expected", [(False, (False, "admitted_after_consent")),
                                                    (True, (True, "covered"))])
def test_a_class_covers_a_peer_group_admitted_after_the_signature_only_when_the_consent_says_so(
        uow, ledger, granted, ledger_keys, later_members, expected):
    consent = granted(include_later_members=later_members)
    admit(uow, ledger_keys, "peer-9", NOW + timedelta(minutes=30))  # after the signature
    newcomer = {"agency_id": "peer-9", "kind": "peer_group"}

    answer = handlers.authorize(question(consent, recipient=newcomer), uow, ledger_keys, ASKED_AT)

    assert (answer["permit"], answer["reason"]) == expected
    network = handlers.authorize(question(consent, recipient={"class": "peer_group"}), uow, ledger_keys,
                                 ASKED_AT)
    # Matching is told not to propose the newcomer's mentors unless the consent covers it.
    assert ("peer-9" in network["allowed"]["excluded"]) is not later_members
    assert handlers.get(ReadConsent(asking("hospital-1"), consent["id"]), uow)[
        "include_later_members"] is later_members
    assert [e.action for e in ledger.rows if e.subject == "peer-9"] == ["agency.created"]


def test_peer_groups_admitted_before_the_signature_or_before_admissions_were_kept_stay_covered(
        uow, granted, ledger_keys):
    admit(uow, ledger_keys, "peer-5", NOW - timedelta(days=30))
    consent = granted()
    for peer in ("peer-5", "peer-2"):  # admitted earlier; a founding member with no admission row
        recipient = {"agency_id": peer, "kind": "peer_group"}
        answer = handlers.authorize(question(consent, recipient=recipient), uow, ledger_keys, ASKED_AT)
        assert (answer["permit"], answer["reason"]) == (True, "covered")


def test_the_holder_is_told_why_and_anyone_else_is_told_consent_not_found(uow, granted, ledger_keys):
    consent = granted()

    by_holder = handlers.authorize(question(consent, purpose="treatment", asking="hospital-1"),
                                   uow, ledger_keys, ASKED_AT)
    by_recipient = handlers.authorize(question(consent, purpose="treatment", asking="peer-1"),
                                      uow, ledger_keys, ASKED_AT)

    assert (by_holder["permit"], by_holder["refusal"]) == (False, "purpose_not_covered")
    assert (by_recipient["permit"], by_recipient["refusal"]) == (False, "consent_not_found")
    assert by_recipient["reason"] == "purpose_not_covered"  # the service and the ledger know


def test_a_recipient_revoked_by_name_is_shown_as_revoked(uow, granted, ledger_keys):
    consent = granted()
    handlers.revoke(RevokeConsent(asking("hospital-1"), consent["id"], "asked",
                                  {"agencies": ["peer-1"]}), uow, ledger_keys, NOW)

    answer = handlers.authorize(question(consent, asking="hospital-1"), uow, ledger_keys, ASKED_AT)

    assert (answer["reason"], answer["refusal"]) == ("revoked_for_recipient", "revoked")


@pytest.mark.parametrize("widened", [
    {"data_classes": ["demographics", "contact", "referral-reason", "substance-use"]},
    {"recipients": {"agencies": [{"id": "peer-1", "kind": "peer_group"},
                                 {"id": "hospital-3", "kind": "hospital"}], "classes": ["peer_group"]}},
    {"valid_until": "2036-11-01T00:00:00Z"},
])
def test_terms_widened_in_storage_are_denied_loudly(uow, consents, ledger, granted, ledger_keys,
                                                    widened, caplog):
    consent = granted()
    consents.tamper(consent["id"], **widened)

    answer = handlers.authorize(question(consent, asking="hospital-1"), uow, ledger_keys, ASKED_AT)

    assert (answer["permit"], answer["reason"], answer["refusal"]) == (
        False, "terms_altered", "consent_not_found")
    assert ledger.rows[-1].details["reason"] == "terms_altered"
    alert = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(alert) == 1 and consent["id"] in alert[0].getMessage()
    assert "Ana" not in alert[0].getMessage()


def test_a_consent_changed_only_through_the_service_keeps_permitting(uow, granted, ledger_keys):
    consent = granted()
    handlers.revoke(RevokeConsent(asking("hospital-1"), consent["id"], "asked",
                                  {"agencies": ["clinic-2"]}), uow, ledger_keys, NOW)

    assert handlers.authorize(question(consent), uow, ledger_keys, ASKED_AT)["permit"] is True


def test_a_permitted_read_is_ledgered_with_its_decision(uow, ledger, granted, ledger_keys):
    consent = granted()
    commits = uow.commits

    answer = handlers.authorize(question(consent, asking="peer-1", read="handoff:r-1"),
                                uow, ledger_keys, ASKED_AT)

    assert answer["permit"] is True and uow.commits == commits + 1
    decision, read = ledger.rows[-2:]
    assert (decision.action, read.action, read.actor, read.subject) == (
        "decision", "access", "peer-1", "handoff:r-1")


def test_a_denied_read_is_not_ledgered_as_a_read(uow, ledger, granted, ledger_keys):
    consent = granted()

    handlers.authorize(question(consent, purpose="treatment", read="handoff:r-1"),
                       uow, ledger_keys, ASKED_AT)

    assert [e.action for e in ledger.rows][-1] == "decision"


def test_a_named_discloser_that_has_not_attested_is_told_so(uow, granted, ledger_keys):
    consent = granted(disclosers=["hospital-1", "clinic-2"])

    named = handlers.authorize(question(consent, discloser="clinic-2", asking="clinic-2"),
                               uow, ledger_keys, ASKED_AT)
    stranger = handlers.authorize(question(consent, discloser="hospital-7", asking="hospital-7"),
                                  uow, ledger_keys, ASKED_AT)

    assert named["refusal"] == "discloser_not_covered"
    assert (stranger["reason"], stranger["refusal"]) == ("discloser_not_covered", "consent_not_found")


def test_a_read_and_its_decision_name_the_person_of_the_asking_agency(uow, ledger, granted, ledger_keys):
    consent = granted()

    handlers.authorize(question(consent, asking="peer-1", acting="person:p-7", read="handoff:r-1"),
                       uow, ledger_keys, ASKED_AT)

    decision, read = ledger.rows[-2:]
    assert (decision.actor, decision.details["by"], decision.details["asking"]) == (
        "hospital-1", "person:p-7", "peer-1")
    assert (read.actor, read.details) == ("peer-1", {"by": "person:p-7"})


def test_a_disclosure_names_the_key_of_the_discloser_that_made_it(uow, ledger, granted, ledger_keys):
    consent = granted()

    handlers.disclose(question(consent, Disclose, asking="hospital-1", acting="key:intake"),
                      uow, ledger_keys, ASKED_AT)

    decision, disclosure = ledger.rows[-2:]
    assert [(row.actor, row.details["by"]) for row in (decision, disclosure)] == [
        ("hospital-1", "key:intake")] * 2
    assert "asking" not in disclosure.details  # the discloser asked for itself


def test_record_access_names_who_read(uow, ledger, ledger_keys):
    handlers.record_access(RecordAccess("peer-1", "participant-9", "handoff:referral-4", "person:p-2"),
                           uow, ledger_keys, ASKED_AT)

    assert ledger.rows[-1].details == {"by": "person:p-2"}
