"""Nothing personal rests in clear: a canary participant (unique name, e-mail, phone, reason)
walked to the handoff on a real network, with services stopped (SIGSTOP) so that the RPCs carrying
its details wait in queues, appears in no database file, no log and no file of the broker's
message store."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest

from gateway.auth import parse_api_key
from network.processes import Client, Network
from tests.harness.journeys import consent_request, mentor, proposed_match, referral, referral_request, wait
from tests.harness.network import register_agencies, running_network
from tests.integration.stored import raw_database_text

pytestmark = pytest.mark.e2e
BROKER_DATA = Path("/var/lib/rabbitmq/mnesia")


@dataclass
class Canary:
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def participant(self) -> dict:
        digits = str(int(self.tag, 16))[-7:].rjust(7, "3")
        return {"given_name": f"Qzgiven{self.tag}", "family_name": f"Qzfamily{self.tag}",
                "birth_date": "1988-02-03", "phone": f"+1917{digits}",
                "email": f"qz{self.tag}@canary.example.org", "preferred_language": "en"}

    @property
    def reason(self) -> str:
        return f"Qzreason{self.tag}: relapsed after detox, needs a peer in the evenings"

    def needles(self) -> dict[str, bytes]:
        p = self.participant
        return {"given name": p["given_name"].encode(), "family name": p["family_name"].encode(),
                "e-mail": p["email"].encode(), "phone": p["phone"].encode(),
                "reason": f"Qzreason{self.tag}".encode()}


def files_holding(folder: Path, canary: Canary) -> list[str]:
    """``path: what`` for every file under ``folder`` holding a canary value in clear."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a live broker or database replaced it meanwhile
            continue
        found += [f"{path}: {what}" for what, needle in canary.needles().items() if needle in data]
    return found


def broker_readable() -> bool:
    return BROKER_DATA.is_dir() and os.access(BROKER_DATA, os.R_OK | os.X_OK)


@contextmanager
def stopped(network: Network, name: str) -> Iterator[None]:
    """``name`` frozen with SIGSTOP (requests to it wait in its queue), then resumed."""
    group = network.running[name].pid
    os.killpg(group, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(group, signal.SIGCONT)


@dataclass
class Walk:
    canary: Canary
    data: Path
    logs: Path
    handoff: dict
    broker_while_waiting: list[str]
    # What the gateway issued or was told about its own people: a new key and a person.
    new_api_key: str = ""
    person: dict = field(default_factory=dict)


def while_waiting(canary: Canary) -> list[str]:
    return files_holding(BROKER_DATA, canary) if broker_readable() else []


def retried(client: Client, method: str, path: str, body=None, **kwargs) -> dict:
    """The request again (same Idempotency-Key) until the resumed service answers."""
    def attempt():
        response = client.request(method, path, body, **kwargs)
        return response.json() if response.status_code < 300 else None
    return wait(attempt, f"{method} {path} after the service resumed", timeout=60)


@pytest.fixture(scope="module")
def walk(request, rabbit_manager, tmp_path_factory) -> Iterator[Walk]:
    amqp = request.config.getoption("RABBIT_AMQP_URI")
    data, logs = tmp_path_factory.mktemp("at-rest-data"), tmp_path_factory.mktemp("at-rest-logs")
    canary = Canary()
    with running_network(amqp, rabbit_manager, lambda name: f"sqlite:///{data / name}.db", logs,
                         vhost_prefix="rn_at_rest") as network:
        operator = Client(network.base_url, network.create_operator())
        agencies = register_agencies(network, operator)
        hospital, peers = agencies["hospital"], agencies["peers_a"]
        peers.ok("POST", "/v1/mentors", mentor(1, languages=("en",)))
        seen: list[str] = []

        body = consent_request(hospital.id, agencies=[peers.id], classes=())
        person = body["participant"] = canary.participant
        body["signature"]["signer_name"] = f"{person['given_name']} {person['family_name']}"
        key = {"Idempotency-Key": str(uuid.uuid4())}
        with stopped(network, "consent"):  # the consent to record waits in the consent queue
            assert hospital.request("POST", "/v1/consents", body, headers=key).status_code == 503
            seen += while_waiting(canary)
        consent = retried(hospital, "POST", "/v1/consents", body, headers=key)

        body = {**referral_request(consent, languages=("en",)), "reason": canary.reason}
        key = {"Idempotency-Key": str(uuid.uuid4())}
        with stopped(network, "referrals"):  # the referral to create waits in the referrals queue
            assert hospital.request("POST", "/v1/referrals", body, headers=key).status_code == 503
            seen += while_waiting(canary)
        created = retried(hospital, "POST", "/v1/referrals", body, headers=key)

        _, match = wait(lambda: proposed_match([peers], created["id"]), "a proposal")
        peers.ok("POST", f"/v1/matches/{match['id']}/accept")
        wait(lambda: referral(hospital, created["id"])["status"] == "accepted", "acceptance")
        with stopped(network, "consent"):  # the disclosure for the handoff waits for consent
            path = f"/v1/referrals/{created['id']}/handoff"
            assert peers.request("GET", path).status_code == 503
            seen += while_waiting(canary)
        handoff = retried(peers, "GET", path)
        new_key, staff = staff_of_a_clinic(network, operator, canary)
        yield Walk(canary, data, logs, handoff, seen, new_key, staff)


def staff_of_a_clinic(network: Network, operator: Client, canary: Canary) -> tuple[str, dict]:
    """A clinic issues itself a new machine key and enrols a person who signs in and reads its
    referrals: the key's secret and the person's name and e-mail."""
    clinic = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Canary Clinic", "kind": "clinic", "roles": ["referrer", "admin"]}))
    issued = clinic.ok("POST", f"/v1/agencies/{clinic.id}/keys", {"name": "intake", "roles": ["referrer"]})
    staff = {"name": f"Qzstaff{canary.tag} Person", "email": f"qzstaff{canary.tag}@clinic.example.org"}
    invited = clinic.ok("POST", f"/v1/agencies/{clinic.id}/people", {**staff, "roles": ["referrer"]})
    password = f"pass phrase {canary.tag}"
    enrolment = clinic.ok("POST", "/v1/sessions/accept-invitation", {
        "invitation_token": invited["invitation_token"], "password": password}, key="")
    totp = pyotp.TOTP(enrolment["totp_secret"])
    credentials = {"email": staff["email"], "password": password}
    clinic.ok("POST", "/v1/sessions/totp", {**credentials, "code": totp.at(time.time())}, key="")
    session = clinic.ok("POST", "/v1/sessions", {**credentials, "code": totp.at(time.time() + 30)}, key="")
    Client(network.base_url, {"id": clinic.id, "api_key": session["token"]}).ok("GET", "/v1/referrals")
    Client(network.base_url, {"id": clinic.id, "api_key": issued["api_key"]}).ok("GET", "/v1/referrals")
    return issued["api_key"], staff


def test_the_canary_really_travelled_to_the_handoff(walk):
    shown = json.dumps(walk.handoff)
    assert walk.canary.participant["email"] in shown and walk.canary.participant["phone"] in shown


def test_no_database_file_holds_the_canary_in_clear(walk):
    files = [p.name for p in walk.data.iterdir()]
    assert {"consent.db", "referrals.db", "matching.db", "notifications.db", "gateway.db"} <= set(files)
    assert files_holding(walk.data, walk.canary) == []


def test_the_gateway_database_holds_no_reason_key_participant_or_person_in_clear(walk):
    stored = raw_database_text(f"sqlite:///{walk.data / 'gateway.db'}")
    assert stored  # the gateway's database file was read
    _, secret = parse_api_key(walk.new_api_key)  # the key id is stored, to look the key up
    needles = {"reason": f"Qzreason{walk.canary.tag}", "new API key": walk.new_api_key,
               "new API key's secret": secret,
               "participant name": walk.canary.participant["given_name"],
               "participant family name": walk.canary.participant["family_name"],
               "person's e-mail": walk.person["email"], "person's name": walk.person["name"]}
    assert [what for what, needle in needles.items() if needle in stored] == []


def test_no_log_holds_the_canary(walk):
    assert {"consent.log", "referrals.log", "gateway.log"} <= {p.name for p in walk.logs.iterdir()}
    assert files_holding(walk.logs, walk.canary) == []


def test_no_broker_file_held_the_canary_while_its_rpcs_waited(walk):
    if not broker_readable():
        pytest.skip(f"the broker's data directory {BROKER_DATA} is not readable by this user")
    assert walk.broker_while_waiting == []
    assert files_holding(BROKER_DATA, walk.canary) == []
