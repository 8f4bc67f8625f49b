"""The decision point through RPC: every deny reason and the permit, partial revocation, and
disclosures that release only the permitted fields and show up in the accounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text, update

from services.consent.adapters.consents import _RECORDED_TERMS
from services.consent.adapters.orm import consents, ledger
from services.consent.domain import REDISCLOSURE_NOTICE
from services.kit.db import make_engine
from services.kit.errors import ConsentRequired, Forbidden, InvalidRequest, NotFound
from tests.integration.consent.support import (
    ADMIN,
    CLINIC_2,
    HOLDERS_ADMIN,
    HOSPITAL,
    NETWORK,
    OPERATOR,
    OTHER_HOSPITAL,
    PEER_1,
    PEER_2,
    PEERS,
    ask,
    grant_request,
)
from tests.support import wait_for

# Shaped like the ids the service issues, but never issued.
NO_SUCH_CONSENT = "00000000-0000-4000-8000-000000000000"
NOBODY = "00000000-0000-4000-8000-000000000001"


def decisions_in_ledger(consent) -> list[dict]:
    return [e for e in consent.ledger(OPERATOR, {"limit": 1000})["items"] if e["action"] == "decision"]


def test_each_deny_reason_and_the_permit_are_answered_and_ledgered(start_service, config, clock_file):
    consent = start_service(config, CLOCK_FILE=clock_file.path)
    now = datetime.now(UTC)
    granted = consent.grant(HOSPITAL, grant_request(now))
    later = consent.grant(HOSPITAL, grant_request(now, valid_from="2099-01-01T00:00:00Z",
                                                  valid_until="2099-06-01T00:00:00Z"))
    revoked = consent.grant(HOSPITAL, grant_request(now))
    consent.revoke(HOSPITAL, revoked["id"], {"reason": "no longer wanted"})
    cases = [
        ("covered", ask(granted)),
        ("covered", ask(granted, recipient=NETWORK, consent_id=None, data_classes=["referral-reason"])),
        ("consent_not_found", ask(granted, consent_id=NO_SUCH_CONSENT)),
        ("consent_not_found", ask(granted, consent_id=None, participant_id=NOBODY)),
        ("participant_mismatch", ask(granted, participant_id=later["participant_id"])),
        ("discloser_not_covered", ask(granted, discloser="clinic-9")),
        ("recipient_not_covered", ask(granted, recipient={"agency_id": "hospital-7", "kind": "hospital"})),
        ("purpose_not_covered", ask(granted, purpose="treatment")),
        ("data_class_not_covered", ask(granted, data_classes=["contact", "substance-use"])),
        ("not_yet_valid", ask(later)),
        ("revoked", ask(revoked)),
    ]
    for reason, request in cases:
        answer = consent.authorize(**request)
        assert (answer["permit"], answer["reason"]) == (reason == "covered", reason), request
        assert answer["decision_id"]
    permit = consent.authorize(**ask(granted))
    assert permit["consent_id"] == granted["id"]
    assert permit["allowed"] == {"agencies": ["peer-1"], "classes": ["peer_group"], "excluded": []}
    assert consent.authorize(**ask(granted, purpose="treatment"))["allowed"] == {
        "agencies": [], "classes": [], "excluded": []}

    clock_file(now + timedelta(days=2))  # past valid_until; no timer has run
    assert consent.authorize(**ask(granted))["reason"] == "expired"

    ledgered = decisions_in_ledger(consent)
    assert len(ledgered) == len(cases) + 3
    assert consent.verify_ledger()["ok"]


def test_a_malformed_request_is_refused_not_decided(consent):
    granted = consent.grant(HOSPITAL, grant_request())
    with pytest.raises(InvalidRequest) as refused:
        consent.authorize(**ask(granted, recipient={"agency": "peer-1"}, data_classes=[]))
    assert set(refused.value.errors) >= {"data_classes"}
    with pytest.raises(InvalidRequest) as refused:
        consent.authorize(**ask(granted, recipient={"agency_id": "peer-1", "kind": "starship"}))
    assert "recipient" in refused.value.errors
    assert decisions_in_ledger(consent) == []


def test_partial_revocation_denies_the_removed_recipient_and_keeps_the_others(consent, events):
    granted = consent.grant(HOSPITAL, grant_request())

    after = consent.revoke(HOSPITAL, granted["id"], {"reason": "not that group",
                                                     "recipients": {"agencies": ["peer-1"]}})

    assert after["status"] == "active" and after["version"] == 2
    assert after["recipients"] == {"agencies": ["clinic-2"], "classes": ["peer_group"]}
    assert after["revoked"] == {"agencies": ["peer-1"], "classes": []}
    assert consent.authorize(**ask(granted, recipient=PEER_1))["reason"] == "revoked_for_recipient"
    for recipient in (CLINIC_2, PEER_2, NETWORK):
        assert consent.authorize(**ask(granted, recipient=recipient))["permit"], recipient
    assert consent.authorize(**ask(granted, recipient=NETWORK))["allowed"] == {
        "agencies": [], "classes": ["peer_group"], "excluded": ["peer-1"]}
    [event] = wait_for(lambda: events.of_type("consent.revoked", granted["id"]))
    assert event["payload"]["revoked"] == {"agencies": ["peer-1"], "classes": []}
    assert event["payload"]["full"] is False


def test_only_the_holder_revokes_and_strangers_cannot_even_see_the_consent(consent):
    granted = consent.grant(HOSPITAL, grant_request())
    assert consent.get(PEERS, granted["id"])["id"] == granted["id"]  # a named recipient reads it
    assert consent.get(HOLDERS_ADMIN, granted["id"])["status"] == "active"
    for outsider in (ADMIN, OPERATOR):  # another agency's admin, the network operator
        with pytest.raises(NotFound):
            consent.get(outsider, granted["id"])
    with pytest.raises(Forbidden):
        consent.revoke(PEERS, granted["id"], {"reason": "not ours to revoke"})
    for call in (lambda: consent.get(OTHER_HOSPITAL, granted["id"]),
                 lambda: consent.revoke(OTHER_HOSPITAL, granted["id"], {"reason": "x"}),
                 lambda: consent.get(HOSPITAL, NO_SUCH_CONSENT)):
        with pytest.raises(NotFound) as hidden:
            call()
        assert str(hidden.value.detail) == "No such consent."
    assert consent.get(HOSPITAL, granted["id"])["status"] == "active"


def test_disclose_releases_only_the_permitted_fields_and_is_accounted(consent):
    granted = consent.grant(HOSPITAL, grant_request())
    pid = granted["participant_id"]

    contact = consent.disclose(**ask(granted, data_classes=["contact"]))
    demographics = consent.disclose(**ask(granted, recipient=CLINIC_2, data_classes=["demographics"]))
    with pytest.raises(ConsentRequired) as denied:
        consent.disclose(**ask(granted, purpose="treatment", data_classes=["contact"],
                               asking="hospital-1"))

    assert contact["participant"] == {"phone": "+15555550100", "email": "ana@example.org"}
    assert demographics["participant"] == {"given_name": "Ana", "family_name": "Ruiz",
                                           "birth_date": "1990-04-02", "preferred_language": "es"}
    assert contact["redisclosure_notice"] == REDISCLOSURE_NOTICE
    summary = contact["consent"]
    assert summary["id"] == granted["id"] and summary["purposes"] == granted["purposes"]
    assert "participant" not in summary and "signer_name" not in str(summary)
    assert denied.value.extra["reason"] == "purpose_not_covered"
    assert summary["disclosers"] == [{"id": "hospital-1", "name": None}]
    assert summary["period"]["start"] == granted["valid_from"]

    items = consent.disclosures(HOSPITAL, pid)["items"]
    assert [(i["recipient"], i["data_classes"], i["purpose"], i["consent_id"]) for i in items] == [
        ("peer-1", ["contact"], "peer-support-referral", granted["id"]),
        ("clinic-2", ["demographics"], "peer-support-referral", granted["id"]),
    ]
    assert consent.disclosures(HOLDERS_ADMIN, pid) == consent.disclosures(HOSPITAL, pid)
    # A window of time: at or after ``since``, before ``until``; a zone is required.
    second_at = items[1]["at"]
    def recipients(**between):
        return [i["recipient"] for i in consent.disclosures(HOSPITAL, pid, **between)["items"]]

    assert recipients(since=second_at) == ["clinic-2"]
    assert recipients(until=second_at) == ["peer-1"]
    with pytest.raises(InvalidRequest):
        consent.disclosures(HOSPITAL, pid, since="2026-11-01T00:00:00")
    for stranger, participant in ((OTHER_HOSPITAL, pid), (PEERS, pid), (ADMIN, pid), (OPERATOR, pid),
                                  (HOLDERS_ADMIN, NOBODY)):
        with pytest.raises(NotFound):
            consent.disclosures(stranger, participant)
    actions = [e["action"] for e in consent.ledger(OPERATOR, {"participant": pid})["items"]]
    assert actions == ["consent.granted", "decision", "disclosure", "decision", "disclosure", "decision"]


def test_record_access_ledgers_a_read_and_refuses_free_text(consent):
    granted = consent.grant(HOSPITAL, grant_request())
    seq = consent.record_access(actor="peer-1", participant_id=granted["participant_id"],
                                what="handoff:ref-123")["seq"]
    entry = consent.ledger(OPERATOR, {"participant": granted["participant_id"]})["items"][-1]
    assert (entry["seq"], entry["action"], entry["actor"], entry["subject"]) == (
        seq, "access", "peer-1", "handoff:ref-123")
    with pytest.raises(InvalidRequest):
        consent.record_access(actor="peer-1", participant_id=granted["participant_id"],
                              what="read Ana's file")


@pytest.mark.parametrize("later_members", [False, True])
def test_a_peer_group_admitted_after_the_signature_is_covered_only_with_include_later_members(
        consent, later_members):
    granted = consent.grant(HOSPITAL, grant_request(include_later_members=later_members))
    consent.record_change(OPERATOR, {"action": "agency.created", "subject": "peer-9",
                                     "details": {"kind": "peer_group", "roles": ["coordinator"]}})
    newcomer = {"agency_id": "peer-9", "kind": "peer_group"}

    answer = consent.authorize(**ask(granted, recipient=newcomer))
    network = consent.authorize(**ask(granted, recipient=NETWORK))

    assert answer["permit"] is later_members
    assert answer["reason"] == ("covered" if later_members else "admitted_after_consent")
    assert ("peer-9" in network["allowed"]["excluded"]) is not later_members
    assert consent.authorize(**ask(granted, recipient=PEER_2))["permit"] is True  # a founding member
    admitted = consent.ledger(OPERATOR, {"action": "agency.created"})["items"]
    assert [(row["subject"], row["actor"]) for row in admitted] == [("peer-9", "key:ops")]


def test_a_long_history_does_not_make_the_terms_read_scan_it(consent, config):
    """Each decision and disclosure adds a ledger row under its participant and consent: the read
    of the consent's terms entry goes by ``ix_ledger_terms``, not through all those rows."""
    granted = consent.grant(HOSPITAL, grant_request())
    engine = make_engine(config["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            head = conn.execute(select(func.max(ledger.c.seq))).scalar_one()
            # This participant's 3,000 decisions, among 300 other consents with a few each.
            others = [(f"consent-{n}", f"participant-{n}", action) for n in range(300)
                      for action in ("consent.granted", *["decision"] * 5)]
            mine = [(granted["id"], granted["participant_id"], "decision")] * 3_000
            conn.execute(insert(ledger), [
                {"seq": head + n, "at": "2026-01-01T00:00:00.000000Z", "actor": "hospital-1",
                 "action": action, "subject": subject, "participant_id": participant,
                 "details": "{}", "prev_hash": "0" * 64, "hash": "0" * 64}
                for n, (subject, participant, action) in enumerate(others + mine, start=1)])
            conn.execute(text("ANALYZE"))
            statement = _RECORDED_TERMS.params(consent_id=granted["id"])
            compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
            explain = "EXPLAIN" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
            plan = " ".join(str(row) for row in conn.execute(text(f"{explain} {compiled}")))
    finally:
        engine.dispose()
    assert "ix_ledger_terms" in plan, plan


def test_terms_changed_behind_the_ledger_are_denied_loudly(consent, config):
    """Widening a consent in its table, or rewriting the ledger entry that binds its terms, is
    caught by the decision: neither can vouch for itself without the ledger key."""
    widened = consent.grant(HOSPITAL, grant_request())
    rewritten = consent.grant(HOSPITAL, grant_request())
    stranger = {"agency_id": "peer-9", "kind": "peer_group"}
    engine = make_engine(config["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            row = conn.execute(select(consents.c.snapshot).where(consents.c.id == widened["id"])).one()
            snapshot = dict(row.snapshot)
            snapshot["recipients"] = {**snapshot["recipients"],
                                      "agencies": [*snapshot["recipients"]["agencies"],
                                                   {"id": "peer-9", "kind": "peer_group"}]}
            conn.execute(update(consents).where(consents.c.id == widened["id"]).values(snapshot=snapshot))
            conn.execute(update(ledger).where(ledger.c.subject == rewritten["id"],
                                              ledger.c.action == "consent.granted")
                         .values(details=func.replace(ledger.c.details, '"terms_hash":"', '"terms_hash":"0')))
    finally:
        engine.dispose()
    for granted, recipient in ((widened, stranger), (widened, PEER_1), (rewritten, PEER_1)):
        answer = consent.authorize(**ask(granted, recipient=recipient))
        assert (answer["permit"], answer["reason"]) == (False, "terms_altered"), (granted["id"], recipient)
