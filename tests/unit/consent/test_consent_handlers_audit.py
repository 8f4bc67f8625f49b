"""The audit trail through its handlers: the accounting of disclosures, ledger pages, the
ledger's verification and checkpoints, and the expiry timer."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from services.consent import handlers
from services.consent.domain.commands import (
    CheckpointLedger,
    Disclose,
    ExpireDueConsents,
    ListDisclosures,
    ReadConsent,
    ReadLedger,
    RecordAccess,
    RecordChange,
    VerifyLedger,
)
from services.kit.errors import NotFound
from services.kit.messages import Caller
from services.kit.pages import read_cursor
from tests.unit.consent.conftest import NOW, asking

ASKED_AT = NOW + timedelta(hours=1)
OPERATOR = asking("operator-1")


def disclose_contact(consent: dict, uow, keys, at=ASKED_AT) -> dict:
    command = Disclose("hospital-1", {"agency_id": "peer-1", "kind": "peer_group"},
                       "peer-support-referral", ["contact"], consent["participant_id"], consent["id"])
    return handlers.disclose(command, uow, keys, at)


def test_the_holder_reads_every_disclosure_about_the_participant(uow, granted, ledger_keys):
    consent = granted()
    for n in range(2):
        disclose_contact(consent, uow, ledger_keys, ASKED_AT + timedelta(minutes=n))

    page = handlers.disclosures(ListDisclosures(asking("hospital-1"), consent["participant_id"]), uow)

    assert page["next_page"] is None
    assert [(i["recipient"], i["purpose"], i["consent_id"]) for i in page["items"]] == [
        ("peer-1", "peer-support-referral", consent["id"])] * 2
    assert page["items"][0]["at"] < page["items"][1]["at"]
    # The grant is entry 1; each disclosure follows its decision.
    assert [i["ledger_seq"] for i in page["items"]] == [3, 5]


def test_the_accounting_comes_in_pages_with_a_cursor_to_the_next(uow, granted, ledger_keys):
    consent = granted()
    for n in range(5):
        disclose_contact(consent, uow, ledger_keys, ASKED_AT + timedelta(minutes=n))
    seen, after = [], None
    while True:
        page = handlers.disclosures(ListDisclosures(asking("hospital-1"), consent["participant_id"],
                                                    after, limit=2), uow)
        assert len(page["items"]) <= 2
        seen += [item["ledger_seq"] for item in page["items"]]
        if page["next_page"] is None:
            break
        at, seq = read_cursor(page["next_page"])
        after = (at, int(seq))
    assert seen == [3, 5, 7, 9, 11]


def test_the_accounting_is_narrowed_to_a_window_of_time(uow, granted, ledger_keys):
    consent = granted()
    for n in range(3):
        disclose_contact(consent, uow, ledger_keys, ASKED_AT + timedelta(days=n))

    def window(**between):
        return [i["ledger_seq"] for i in handlers.disclosures(ListDisclosures(
            asking("hospital-1"), consent["participant_id"], **between), uow)["items"]]

    assert window(since=ASKED_AT + timedelta(days=1)) == [5, 7]
    assert window(until=ASKED_AT + timedelta(days=1)) == [3]
    assert window(since=ASKED_AT + timedelta(hours=12), until=ASKED_AT + timedelta(days=2)) == [5]


def test_disclosures_are_not_found_for_strangers_and_unknown_participants(uow, granted, ledger_keys):
    consent = granted()
    disclose_contact(consent, uow, ledger_keys)

    with pytest.raises(NotFound):
        handlers.disclosures(ListDisclosures(asking("peer-1"), consent["participant_id"]), uow)
    with pytest.raises(NotFound):
        handlers.disclosures(ListDisclosures(asking("hospital-1", admin=True), "no-such-participant"), uow)
    holders_admin = asking("hospital-1", admin=True)
    admin = handlers.disclosures(ListDisclosures(holders_admin, consent["participant_id"]), uow)
    assert len(admin["items"]) == 1


def test_another_agencys_admin_and_the_operator_read_no_accounting(uow, granted, ledger_keys):
    consent = granted()
    disclose_contact(consent, uow, ledger_keys)

    for stranger in (asking("clinic-9", admin=True), asking("operator-1")):
        with pytest.raises(NotFound):
            handlers.disclosures(ListDisclosures(stranger, consent["participant_id"]), uow)


def test_the_ledger_is_read_in_pages_in_seq_order(uow, ledger_keys):
    for n in range(5):
        handlers.record_access(RecordAccess("peer-1", f"participant-{n % 2}", f"handoff:r{n}"),
                               uow, ledger_keys, NOW + timedelta(minutes=n))

    first = handlers.ledger(ReadLedger(OPERATOR, limit=2), uow)
    second = handlers.ledger(ReadLedger(OPERATOR, limit=2, after_seq=int(first["next_page"])), uow)
    last = handlers.ledger(ReadLedger(OPERATOR, limit=2, after_seq=int(second["next_page"])), uow)

    assert [[i["seq"] for i in p["items"]] for p in (first, second, last)] == [[1, 2], [3, 4], [5]]
    assert last["next_page"] is None
    assert set(first["items"][0]) == {"seq", "at", "agency_id", "actor", "action", "subject",
                                      "participant_id", "hash"}


def test_the_ledger_is_filtered_by_participant_and_time(uow, ledger_keys):
    for n in range(5):
        handlers.record_access(RecordAccess("peer-1", f"participant-{n % 2}", f"handoff:r{n}"),
                               uow, ledger_keys, NOW + timedelta(minutes=n))

    theirs = handlers.ledger(ReadLedger(OPERATOR, limit=10, participant_id="participant-1"), uow)
    recent = handlers.ledger(ReadLedger(OPERATOR, limit=10, since=NOW + timedelta(minutes=3)), uow)
    window = handlers.ledger(ReadLedger(OPERATOR, limit=10, since=NOW + timedelta(minutes=1),
                                        until=NOW + timedelta(minutes=3)), uow)

    assert [i["subject"] for i in theirs["items"]] == ["handoff:r1", "handoff:r3"]
    assert [i["seq"] for i in recent["items"]] == [4, 5]
    assert [i["seq"] for i in window["items"]] == [2, 3]


def test_an_audit_listing_names_the_decision_recipient_purpose_data_actor_and_agency(
        uow, granted, ledger_keys):
    consent = granted()
    disclose_contact(consent, uow, ledger_keys)

    items = handlers.ledger(ReadLedger(OPERATOR, limit=10), uow)["items"]

    grant, decision, disclosure = items
    assert (grant["action"], grant["agency_id"], grant["actor"]) == (
        "consent.granted", "hospital-1", "key:default")
    assert (decision["permit"], decision["reason"], decision["recipient"], decision["purpose"],
            decision["data_classes"]) == (True, decision["reason"], "peer-1", "peer-support-referral",
                                          ["contact"])
    assert disclosure["action"] == "disclosure" and disclosure["agency_id"] == "hospital-1"


def test_an_agency_admin_reads_only_the_rows_its_agency_acted_in_or_received(
        uow, granted, ledger_keys):
    consent = granted()
    disclose_contact(consent, uow, ledger_keys)
    handlers.record_access(RecordAccess("peer-2", "participant-9", "handoff:r9"), uow, ledger_keys, NOW)

    def seen_by(agency_id: str) -> list[str]:
        page = handlers.ledger(ReadLedger(asking(agency_id, admin=True), limit=10), uow)
        return [item["action"] for item in page["items"]]

    assert seen_by("hospital-1") == ["consent.granted", "decision", "disclosure"]
    assert seen_by("peer-1") == ["decision", "disclosure"]  # as the recipient
    assert seen_by("clinic-2") == []
    assert len(handlers.ledger(ReadLedger(OPERATOR, limit=10), uow)["items"]) == 4


def test_the_ledger_is_filtered_by_actor_agency_and_action(uow, ledger_keys):
    operator = Caller("operator-1", "operator", frozenset({"operator"}), "key:ops")
    handlers.record_change(RecordChange(operator, "agency.created", "peer-3", {"kind": "peer_group"}),
                           uow, ledger_keys, NOW)
    clinic = Caller("clinic-2", "clinic", frozenset({"admin"}), "key:rotation-bot")
    handlers.record_change(RecordChange(clinic, "key.revoked", "k1", {"key_name": "old"}),
                           uow, ledger_keys, NOW)

    def subjects(**filters) -> list[str]:
        page = handlers.ledger(ReadLedger(OPERATOR, limit=10, **filters), uow)
        return [item["subject"] for item in page["items"]]

    assert subjects(actor="key:ops") == ["peer-3"]
    assert subjects(agency="clinic-2") == ["k1"]
    assert subjects(action="agency.created") == ["peer-3"]
    assert subjects(actor="key:rotation_bot") == []  # "_" is no wildcard
    mine = handlers.ledger(ReadLedger(clinic, limit=10), uow)["items"]
    assert [(i["actor"], i["agency_id"], i["action"]) for i in mine] == [
        ("key:rotation-bot", "clinic-2", "key.revoked")]


def test_an_intact_ledger_verifies_chunk_by_chunk(uow, ledger_keys, granted):
    granted()
    for n in range(8):
        handlers.record_access(RecordAccess("peer-1", "participant-1", f"handoff:r{n}"),
                               uow, ledger_keys, ASKED_AT)
    progress: list[int] = []

    result = handlers.verify_ledger(VerifyLedger(chunk_size=3), uow, ledger_keys,
                                    between_chunks=progress.append)

    assert result == {"ok": True, "entries": 9}
    assert progress == [3, 6, 9]


def test_an_altered_entry_is_named_by_its_seq(uow, ledger, ledger_keys):
    for n in range(6):
        handlers.record_access(RecordAccess("peer-1", "participant-1", f"handoff:r{n}"),
                               uow, ledger_keys, ASKED_AT)
    ledger.rows[2] = dataclasses.replace(ledger.rows[2], actor="someone-else")
    ledger.commit()  # as if written straight into the table

    result = handlers.verify_ledger(VerifyLedger(chunk_size=4), uow, ledger_keys)

    assert (result["ok"], result["first_bad_seq"], result["kind"]) == (False, 3, "altered")


def test_the_checkpoint_timer_signs_a_new_head_once(uow, ledger, ledger_keys):
    assert handlers.checkpoint(CheckpointLedger(), uow, ledger_keys, NOW) is None  # empty ledger
    for n in range(6):  # a checkpoint every 4 entries: the 4th is signed on append
        handlers.record_access(RecordAccess("peer-1", "participant-1", f"handoff:r{n}"),
                               uow, ledger_keys, ASKED_AT)

    assert handlers.checkpoint(CheckpointLedger(), uow, ledger_keys, ASKED_AT) == 6
    assert handlers.checkpoint(CheckpointLedger(), uow, ledger_keys, ASKED_AT) is None
    assert [c.count for c in ledger.checkpoints()] == [4, 6]
    assert handlers.verify_ledger(VerifyLedger(), uow, ledger_keys)["ok"] is True


def test_the_expiry_timer_expires_consents_past_valid_until(uow, ledger, granted, ledger_keys):
    short = granted(valid_until="2026-11-02T00:00:00Z")
    lasting = granted()

    expired = handlers.expire_due(ExpireDueConsents(batch=1), uow, ledger_keys, NOW + timedelta(days=3))
    again = handlers.expire_due(ExpireDueConsents(batch=1), uow, ledger_keys, NOW + timedelta(days=4))

    assert (expired, again) == (1, 0)
    assert handlers.get(ReadConsent(asking("hospital-1"), short["id"]), uow)["status"] == "expired"
    assert handlers.get(ReadConsent(asking("hospital-1"), lasting["id"]), uow)["status"] == "active"
    assert uow.types() == ["consent.granted", "consent.granted", "consent.expired"]
    entry = ledger.rows[-1]
    assert (entry.action, entry.actor, entry.subject) == ("consent.expired", "consent-service", short["id"])


def test_the_expiry_timer_works_through_every_batch(uow, granted, ledger_keys):
    ids = [granted(valid_until="2026-11-02T00:00:00Z")["id"] for _ in range(5)]

    expired = handlers.expire_due(ExpireDueConsents(batch=2), uow, ledger_keys, NOW + timedelta(days=3))

    assert expired == 5
    assert {handlers.get(ReadConsent(asking("hospital-1"), i), uow)["status"] for i in ids} == {"expired"}
