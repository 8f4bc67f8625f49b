"""The referrals handlers on the real repository and a throwaway SQLite file: what reaches the disk."""

from __future__ import annotations

import base64
import json

import pytest
from handler_fakes import NOW, FakeConsent, asking, expired_event, match_event, request_command
from referral_builders import REFERRER
from sqlalchemy import event, select
from sqlalchemy.orm import sessionmaker

from services.kit.creations import creation_of, derived_event_id
from services.kit.crypto import KeyRing, generate_key
from services.kit.db import make_engine
from services.kit.dependencies import WorkerUnitOfWork
from services.kit.errors import Conflict, ConsentRequired, InvalidRequest
from services.referrals.adapters.orm import metadata
from services.referrals.adapters.repository import ReferralRepository, referral_repositories
from services.referrals.domain.commands import CancelReferral, ListReferrals, ReadReferral
from services.referrals.handlers import commands, consent_events, match_events, queries


@pytest.fixture
def ring():
    return KeyRing([("k1", base64.b64decode(generate_key()))])


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'referrals.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine, ring):
    factory = sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})
    return WorkerUnitOfWork(factory, source="referrals", consumer="referrals.test",
                            repositories=lambda session: referral_repositories(session, ring))


@pytest.fixture
def consent(uow):
    return FakeConsent(uow)


def create(uow, consent, **overrides):
    return commands.create_referral(request_command(**overrides), uow, consent, NOW)


def rows(uow, table: str):
    with uow:
        return uow.session.execute(select(metadata.tables[table])).all()


def test_the_reason_is_sealed_at_rest_and_the_event_is_in_the_outbox(uow, consent, tmp_path):
    view = create(uow, consent)
    [row] = rows(uow, "referrals")
    assert row.id == view["id"] and row.reason.startswith("v1.k1.") and "Zeferina" not in row.needs
    assert b"Zeferina" not in (tmp_path / "referrals.db").read_bytes()
    [outbox] = rows(uow, "outbox")
    assert json.loads(outbox.message)["type"] == "referral.requested" and "Zeferina" not in outbox.message


def test_a_refused_referral_leaves_no_row_and_its_refusal_in_the_outbox_once_per_key(uow, consent):
    consent.deny_with = "purpose_not_covered"
    creation = creation_of(REFERRER, "key-1", {"participant_id": "participant-1"})
    for _ in range(2):  # a retry under the same key is refused again
        with pytest.raises(ConsentRequired):
            create(uow, consent, creation=creation)
    assert rows(uow, "referrals") == [] and rows(uow, "creations") == []
    [outbox] = rows(uow, "outbox")
    message = json.loads(outbox.message)
    assert message["type"] == "referral.refused"
    assert message["payload"]["reason_code"] == "purpose_not_covered"
    assert outbox.event_id == derived_event_id(creation, "referral.refused") == message["id"]
    assert "Zeferina" not in outbox.message and "detox" not in outbox.message


def test_the_handoff_packet_is_sealed_and_gone_once_consent_expires(uow, consent):
    referral_id = create(uow, consent)["id"]
    match_events.on_match(match_event("match.accepted", referral_id), uow, consent, NOW)
    [row] = rows(uow, "handoff_packets")
    assert row.agency_id and "Quillfeather" not in row.participant
    uow.handle(expired_event(), consent_events.on_consent_ended, NOW)
    assert rows(uow, "handoff_packets") == []
    assert rows(uow, "processed_events")  # the inbox recorded both events


def test_a_save_drops_a_handoff_packet_only_when_it_closes_an_open_handoff(uow, consent, engine):
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731 - the statement text
    event.listen(engine, "before_cursor_execute", listener)
    referral_id = create(uow, consent)["id"]
    match_events.on_match(match_event("match.proposed", referral_id), uow, consent, NOW)
    assert not [sql for sql in sent if "handoff_packets" in sql]  # never open: nothing to drop
    match_events.on_match(match_event("match.accepted", referral_id), uow, consent, NOW)
    assert rows(uow, "handoff_packets")
    sent.clear()
    uow.handle(expired_event(), consent_events.on_consent_ended, NOW)
    event.remove(engine, "before_cursor_execute", listener)
    assert [sql for sql in sent if sql.startswith("DELETE FROM handoff_packets")]
    assert rows(uow, "handoff_packets") == []


def test_a_referral_is_read_with_its_history_in_one_statement(uow, consent, engine, ring):
    referral_id = create(uow, consent)["id"]
    match_events.on_match(match_event("match.proposed", referral_id), uow, consent, NOW)
    match_events.on_match(match_event("match.accepted", referral_id), uow, consent, NOW)
    commands.cancel_referral(CancelReferral(asking(REFERRER), referral_id, "Zeferina moved away"), uow, NOW)
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731 - the statement text
    event.listen(engine, "before_cursor_execute", listener)
    with uow.reading():
        referral = ReferralRepository(uow.session, ring).get(referral_id)
        missing = ReferralRepository(uow.session, ring).get("no-such-referral")
    event.remove(engine, "before_cursor_execute", listener)
    assert len(sent) == 2 and missing is None  # one statement each
    assert [(h.status, h.reason) for h in referral.history] == [
        ("requested", None), ("accepted", None), ("cancelled", "Zeferina moved away")]
    assert referral.status == "cancelled" and referral.reason == listed_reason(uow, referral_id)


def listed_reason(uow, referral_id: str) -> str:
    """The referral's reason as the list of referrals reads it (two statements, no join)."""
    page = queries.list_referrals(ListReferrals(asking(REFERRER)), uow, page_size=10)
    [item] = [item for item in page["items"] if item["id"] == referral_id]
    return item["reason"]


def test_listing_pages_newest_first_with_an_opaque_cursor(uow, consent):
    ids = [create(uow, consent)["id"] for _ in range(5)]
    create(uow, consent, caller=asking("agency-other"))
    seen, cursor = [], None
    while True:
        page = queries.list_referrals(ListReferrals(asking(REFERRER), cursor=cursor), uow, page_size=2)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_page"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    other = queries.list_referrals(ListReferrals(asking("agency-other")), uow, page_size=10)
    assert len(other["items"]) == 1


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10", "WyIyMDI2IiwgM10"])
def test_a_forged_cursor_is_an_invalid_request(uow, cursor):
    with pytest.raises(InvalidRequest) as refused:
        queries.list_referrals(ListReferrals(asking(REFERRER), cursor=cursor), uow, page_size=2)
    assert "page" in refused.value.errors


def test_a_concurrent_change_is_a_conflict(uow, consent, ring):
    referral_id = create(uow, consent)["id"]
    with uow:
        first = ReferralRepository(uow.session, ring)
        mine = first.get(referral_id)
        theirs_repo = ReferralRepository(uow.session, ring)
        theirs = theirs_repo.get(referral_id)
        theirs.cancel(by=REFERRER, reason="theirs", at=NOW)
        theirs_repo.save(theirs)
        mine.cancel(by=REFERRER, reason="mine", at=NOW)
        with pytest.raises(Conflict):
            first.save(mine)


def test_a_cancel_writes_history_and_its_event_in_one_transaction(uow, consent):
    referral_id = create(uow, consent)["id"]
    commands.cancel_referral(CancelReferral(asking(REFERRER), referral_id, "Zeferina moved away"), uow, NOW)
    history = rows(uow, "referral_history")
    assert len(history) == 2 and all("Zeferina" not in (h.reason or "") for h in history)
    assert [json.loads(r.message)["type"] for r in rows(uow, "outbox")] == [
        "referral.requested", "referral.status_changed"]


def test_needs_stored_with_lived_experience_in_words_read_as_codes(uow, consent):
    legacy = {"languages": ["en"], "lived_experience": ["Fentanyl overdose", "heroin", "knitting"]}
    referral_id = create(uow, consent, needs=legacy)["id"]
    [row] = rows(uow, "referrals")
    assert row.needs.startswith("v1.k1.")  # the words are sealed as they were written
    view = queries.read_referral(ReadReferral(asking(REFERRER), referral_id), uow)
    assert view["needs"]["lived_experience"] == ["overdose-survivor", "opioids"]
