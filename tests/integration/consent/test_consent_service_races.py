"""Decisions racing a revocation of the same consent, on SQLite and PostgreSQL: each decision
either sees the revocation or is ledgered before it; no permit ever follows it in the ledger."""

from __future__ import annotations

import json

import eventlet
import pytest
from sqlalchemy import select, text

from services.consent.adapters.orm import ledger
from services.kit.db import make_engine
from services.kit.errors import ConsentRequired
from tests.integration.consent.support import HOSPITAL, PEER_2, ask, grant_request
from tests.support import service_proxy, wait_for, waiting_on_locks

ROUNDS = 5
QUESTIONS = 16


def decide(config: dict, question: dict, disclosing: bool) -> bool:
    with service_proxy("consent", config) as proxy:
        if not disclosing:
            return proxy.authorize(**question)["permit"]
        try:
            return proxy.disclose(**question)["permit"]
        except ConsentRequired:
            return False


def revoke(config: dict, consent_id: str) -> None:
    with service_proxy("consent", config) as proxy:
        proxy.revoke(HOSPITAL, consent_id, {"reason": "the participant asked"})


def ledger_of(config: dict, participant_id: str) -> list:
    engine = make_engine(config["DATABASE_URL"])
    try:
        with engine.connect() as db:
            return db.execute(select(ledger).where(ledger.c.participant_id == participant_id)
                              .order_by(ledger.c.seq)).all()
    finally:
        engine.dispose()


def test_no_permit_or_disclosure_is_ledgered_after_a_racing_revocation(start_service, config):
    consent = start_service(config, max_workers=QUESTIONS + 4)
    for round_ in range(ROUNDS):
        granted = consent.grant(HOSPITAL, grant_request())
        question = {**ask(granted), "asking": "hospital-1"}
        pool = eventlet.GreenPool(QUESTIONS + 1)
        answers = [pool.spawn(decide, config, question, n % 2 == 1) for n in range(QUESTIONS)]
        eventlet.sleep(0.02 * round_)  # the revocation lands at a different point each round
        pool.spawn(revoke, config, granted["id"])
        pool.waitall()

        rows = ledger_of(config, granted["participant_id"])
        actions = [row.action for row in rows]
        revoked_at = actions.index("consent.revoked")
        permits_before = sum(1 for row in rows[:revoked_at]
                             if row.action == "decision" and json.loads(row.details)["permit"])
        for row in rows[revoked_at + 1:]:
            details = json.loads(row.details)
            assert row.action == "decision" and details["permit"] is False, (round_, row.seq, row.action)
            assert details["reason"] == "revoked"
        assert sum(answer.wait() for answer in answers) == permits_before
        assert actions.count("decision") == QUESTIONS


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_decision_that_waited_for_a_change_decides_on_the_terms_it_left(start_service, config):
    """On PostgreSQL a decision reads the consent under its row lock together with its terms
    entries. One that waited for a partial revocation gets the new row, but entries from before
    it: the new terms must be read again, not taken for terms altered behind the ledger."""
    consent = start_service(config, max_workers=8)
    granted = consent.grant(HOSPITAL, grant_request())
    engine = make_engine(config["DATABASE_URL"])
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT 1 FROM consents WHERE id = :id FOR UPDATE"), {"id": granted["id"]})
            pool = eventlet.GreenPool(2)
            revoking = pool.spawn(partly_revoke, config, granted["id"])
            wait_for(lambda: waiting_on_locks(engine) == 1)
            deciding = pool.spawn(decide, config, ask(granted, recipient=PEER_2), False)
            wait_for(lambda: waiting_on_locks(engine) == 2)
            holder.rollback()  # the revocation goes first, then the decision
            assert revoking.wait()["version"] == 2
            assert deciding.wait() is True
    finally:
        engine.dispose()
    decision = json.loads(ledger_of(config, granted["participant_id"])[-1].details)
    assert (decision["permit"], decision["reason"], decision["consent_version"]) == (True, "covered", 2)


def partly_revoke(config: dict, consent_id: str) -> dict:
    with service_proxy("consent", config) as proxy:
        return proxy.revoke(HOSPITAL, consent_id, {"reason": "not that group",
                                                   "recipients": {"agencies": ["peer-1"]}})

