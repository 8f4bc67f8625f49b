"""Ledger verification as a background job on real SQLite and PostgreSQL: one runs at a time,
its progress and result are readable, and decisions keep answering while it reads a large ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from services.consent.adapters.ledger_store import LedgerRepository
from services.consent.adapters.verifications import VerificationRepository
from services.consent.ledger_keys import load_ledger_keys
from services.kit.db import make_engine
from services.kit.errors import NotFound
from tests.integration.consent.support import HOSPITAL, PEER_2, ask, grant_request
from tests.support import wait_for

LARGE = 3000
CHUNK = 100


def fill_ledger(config: dict, rows: int) -> None:
    """``rows`` entries appended in one transaction, through the repository the service uses."""
    keys = load_ledger_keys({**config, "LEDGER_CHECKPOINT_LOG": ""})
    engine = make_engine(config["DATABASE_URL"], pool_size=1)
    try:
        with sessionmaker(engine)() as session:
            repository = LedgerRepository(session)
            for i in range(rows):
                repository.append(keys, at=datetime.now(UTC), actor="load", action="access",
                                  subject=f"load:{i}")
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture
def slow_verifier(start_service, config):
    """The service verifying 100 rows a chunk with a pause between chunks: a large ledger takes
    many chunks, and the test sees the verification running."""
    return start_service(config, LEDGER_VERIFY_CHUNK_ROWS=CHUNK, LEDGER_VERIFY_PAUSE_SECONDS=0.1)


def test_decisions_answer_while_a_verification_of_a_large_ledger_runs(slow_verifier, config):
    consent = slow_verifier
    fill_ledger(config, LARGE)
    granted = consent.grant(HOSPITAL, grant_request())

    started = consent.start_verification()
    assert (started["state"], started["result"]) == ("running", None)
    again = consent.start_verification()
    assert again["id"] == started["id"]  # at most one runs: a second start answers it

    decided = consent.authorize(**ask(granted, recipient=PEER_2))
    assert decided["permit"] is True
    during = consent.verification(started["id"])
    assert during["state"] == "running" and during["checked"] < LARGE  # the decision did not wait

    done = wait_for(lambda: (found := consent.verification(started["id"]))["state"] == "done" and found,
                    timeout=120)
    # The rows the verification found were there when it started (the decision came later or
    # was read too); every one of them chains.
    assert done["result"]["ok"] is True and done["result"]["entries"] >= LARGE + 1
    assert done["checked"] == done["result"]["entries"] and done["finished_at"] is not None
    assert consent.start_verification()["id"] != started["id"]  # a new one once it finished


def test_a_verification_reports_a_tampered_row_and_an_unknown_id_is_not_found(consent, config):
    fill_ledger(config, 30)
    engine = make_engine(config["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE ledger SET actor = 'someone-else' WHERE seq = 12"))
    finally:
        engine.dispose()

    started = consent.start_verification()
    done = wait_for(lambda: (found := consent.verification(started["id"]))["state"] == "done" and found,
                    timeout=60)
    assert (done["result"]["ok"], done["result"]["first_bad_seq"], done["result"]["kind"]) == (
        False, 12, "altered")
    with pytest.raises(NotFound):
        consent.verification("7c2b8f0e-4d1a-4c55-9a57-0f3c1e2d9b10")


def test_a_verification_whose_process_stopped_is_abandoned_by_the_next_start(start_service, config):
    engine = make_engine(config["DATABASE_URL"])
    try:  # one left running by a process that died an hour ago
        with sessionmaker(engine)() as session:
            VerificationRepository(session).start("b5d0a1c2-0000-4000-8000-000000000001",
                                                  datetime.now(UTC) - timedelta(hours=1))
            session.commit()
    finally:
        engine.dispose()
    consent = start_service(config, LEDGER_VERIFY_STALE_SECONDS=30)

    started = consent.start_verification()

    assert started["id"] != "b5d0a1c2-0000-4000-8000-000000000001"
    assert consent.verification("b5d0a1c2-0000-4000-8000-000000000001")["state"] == "abandoned"
    wait_for(lambda: consent.verification(started["id"])["state"] == "done", timeout=60)


