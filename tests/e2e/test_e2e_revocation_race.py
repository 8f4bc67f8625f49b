"""Revoking a consent while coordinators accept, peer groups read handoffs and the referrer keeps
referring (and cancels an accepted referral), on real processes and PostgreSQL, several rounds:
once the revocation is ledgered nothing more is permitted under it, once it is answered no
handoff is readable, and no match of a cancelled referral stays accepted."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, select

from network.processes import Client
from services.consent.adapters.orm import ledger
from services.matching.adapters.orm import matches
from tests.harness.journeys import grant_consent, mentor, proposed_match, referral, referral_request, wait

pytestmark = pytest.mark.e2e

ROUNDS = 5
# What the race runs against: referrals accepted (handoffs readable) and proposals still open.
ACCEPTED, PROPOSED = 3, 3


@dataclass(frozen=True)
class Attempt:
    kind: str  # "handoff", "accept", "cancel" or "refer"
    started: float  # time.monotonic() when the request was sent
    status: int
    body: dict


@pytest.fixture(scope="module")
def mentors(agencies):
    for n in range(3):
        agencies["peers_a"].ok("POST", "/v1/mentors", mentor(700 + n, capacity=40))
        agencies["peers_b"].ok("POST", "/v1/mentors", mentor(800 + n, capacity=40))


@pytest.fixture(scope="module")
def databases(network):
    engines = {name: create_engine(network.env[f"{name.upper()}_DATABASE_URL"])
               for name in ("consent", "matching")}
    yield engines
    for engine in engines.values():
        engine.dispose()


def refer(hospital: Client, consent: dict) -> dict:
    return hospital.ok("POST", "/v1/referrals", referral_request(consent),
                       headers={"Idempotency-Key": str(uuid.uuid4())})


def accepted_referral(hospital: Client, coordinators: list[Client], consent: dict) -> tuple[Client, str]:
    created = refer(hospital, consent)
    coordinator, match = wait(lambda: proposed_match(coordinators, created["id"]), "a proposal")
    coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")
    wait(lambda: referral(hospital, created["id"])["handoff_available"], "the handoff")
    return coordinator, created["id"]


def proposed_referral(hospital: Client, coordinators: list[Client], consent: dict) -> tuple[Client, dict]:
    created = refer(hospital, consent)
    return wait(lambda: proposed_match(coordinators, created["id"]), "a proposal")


class Race:
    """Threads that keep acting until ``stop``; each attempt is kept with its start time."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.attempts: list[Attempt] = []
        self.created: list[str] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def run(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def attempt(self, client: Client, kind: str, method: str, path: str, body=None, headers=None):
        started = time.monotonic()
        response = client.request(method, path, body, headers=headers)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        with self._lock:
            self.attempts.append(Attempt(kind, started, response.status_code, answer))
        return response.status_code, answer

    def read_handoffs(self, coordinator: Client, referral_id: str) -> None:
        own = Client(coordinator.base_url, coordinator.agency)
        while not self.stop.is_set():
            self.attempt(own, "handoff", "GET", f"/v1/referrals/{referral_id}/handoff")

    def accept(self, coordinator: Client, match: dict) -> None:
        own = Client(coordinator.base_url, coordinator.agency)
        self.attempt(own, "accept", "POST", f"/v1/matches/{match['id']}/accept")

    def cancel(self, hospital: Client, referral_id: str) -> None:
        own = Client(hospital.base_url, hospital.agency)
        self.attempt(own, "cancel", "POST", f"/v1/referrals/{referral_id}/cancel",
                     {"reason": "the participant moved away"})

    def keep_referring(self, hospital: Client, consent: dict) -> None:
        own = Client(hospital.base_url, hospital.agency)
        while not self.stop.is_set():
            status, answer = self.attempt(own, "refer", "POST", "/v1/referrals", referral_request(consent),
                                          headers={"Idempotency-Key": str(uuid.uuid4())})
            if status == 201:
                with self._lock:
                    self.created.append(answer["id"])


def ledger_after_revocation(engine, consent: dict) -> list:
    """The participant's ledger rows from the revocation on (the revocation first)."""
    with engine.connect() as db:
        rows = db.execute(select(ledger).where(ledger.c.participant_id == consent["participant_id"])
                          .order_by(ledger.c.seq)).all()
    revoked = [i for i, row in enumerate(rows) if row.action == "consent.revoked"]
    assert len(revoked) == 1, [row.action for row in rows]
    return rows[revoked[0]:]


def accepted_matches(engine, referral_ids: list[str]) -> list[str]:
    with engine.connect() as db:
        return list(db.execute(select(matches.c.referral_id).where(
            matches.c.referral_id.in_(referral_ids), matches.c.status == "accepted")).scalars())


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_nothing_is_permitted_under_a_revocation_however_the_race_falls(
        network, agencies, mentors, databases, round_):
    hospital = agencies["hospital"]
    coordinators = [agencies["peers_a"], agencies["peers_b"]]
    consent = grant_consent(hospital, tag=f"Race{round_}")
    readable = [accepted_referral(hospital, coordinators, consent) for _ in range(ACCEPTED)]
    open_proposals = [proposed_referral(hospital, coordinators, consent) for _ in range(PROPOSED)]
    race = Race()
    for coordinator, referral_id in readable:
        race.run(race.read_handoffs, coordinator, referral_id)
    race.run(race.keep_referring, hospital, consent)
    for coordinator, match in open_proposals:
        race.run(race.accept, coordinator, match)
    race.run(race.cancel, hospital, readable[0][1])  # the referrer withdraws an accepted one

    time.sleep(0.2 * (round_ % 3))  # the revocation lands at a different point each round
    hospital.ok("POST", f"/v1/consents/{consent['id']}/revoke", {"reason": "participant asked"})
    answered = time.monotonic()
    time.sleep(1.0)
    race.join()

    # Accepting and cancelling touch matching and referrals only; what they lead to is checked
    # in the ledger and in matching below.
    after = [a for a in race.attempts if a.started > answered and a.kind in ("handoff", "refer")]
    assert any(a.kind == "handoff" for a in after), "the readers kept reading after the revocation"
    for attempt in after:
        assert attempt.status >= 400, attempt
        if attempt.kind == "refer":
            assert (attempt.status, attempt.body.get("reason")) == (403, "revoked"), attempt

    tail = ledger_after_revocation(databases["consent"], consent)
    for row in tail[1:]:
        details = json.loads(row.details)
        assert row.action not in ("disclosure", "access"), (row.seq, row.action)
        assert not (row.action == "decision" and details["permit"]), (row.seq, details)

    referral_ids = [referral_id for _, referral_id in readable]
    referral_ids += [match["referral_id"] for _, match in open_proposals] + race.created
    wait(lambda: all(referral(hospital, r)["status"] == "cancelled" for r in referral_ids),
         "every referral on the consent to be cancelled", timeout=45)
    wait(lambda: accepted_matches(databases["matching"], referral_ids) == [],
         "matching to close every match of the cancelled referrals", timeout=45)
