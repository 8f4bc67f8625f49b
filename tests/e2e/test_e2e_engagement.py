"""After the handoff, on a real network with a local SMS provider that speaks Twilio's Messages API
and signs its webhooks: opt-in by text, a check-in sent, a reply recorded, HELP answered, a forged
webhook refused, a Spanish crisis word answered with 988 in Spanish and the on-call coordinator
alerted, STOP ending every automated message, and a revocation mid-cadence ending the messages
and taking the contact details out of the database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests

from tests.harness.journeys import accept_proposal, consent_request, mentor, refer, wait
from tests.support import settle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ON_CALL = "+15555550911"
SUPERVISOR = "+15555550912"
ALWAYS = {"start": "00:00", "end": "23:59", "timezone": "UTC"}


@pytest.fixture(scope="module")
def world(network, agencies):
    """The session's network, mentors of one peer group, and the engagement service's clock (put
    back to the real time after the module)."""
    for n in range(2):
        agencies["peers_a"].ok("POST", "/v1/mentors", mentor(700 + n, capacity=5))
    yield {"net": network, "agencies": agencies, "clock": network.engagement_clock,
           "engagement_db": network.database_urls["engagement"].replace("postgresql+psycopg", "postgresql")}
    network.engagement_clock.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def provider(sms_provider):
    return sms_provider


def engaged(world, phone: str):
    """A referral accepted by a peer group, whose engagement has begun; (coordinator, consent, id)."""
    hospital = world["agencies"]["hospital"]
    body = consent_request(hospital.id, tag=uuid.uuid4().hex[:6])
    body["participant"]["phone"] = phone
    consent = hospital.ok("POST", "/v1/consents", body)
    made = refer(hospital, consent)
    coordinators = [world["agencies"]["peers_a"], world["agencies"]["peers_b"]]
    coordinator, _ = accept_proposal(coordinators, hospital, made["id"])
    path = f"/v1/referrals/{made['id']}/engagement"
    wait(lambda: coordinator.request("GET", path).status_code == 200, "the engagement to begin")
    return coordinator, consent, made["id"]


def test_check_ins_by_text_from_opt_in_to_revocation(world, provider):
    net, agencies = world["net"], world["agencies"]
    webhook = f"{net.base_url}/v1/sms/inbound"
    phone = "+15555550177"
    coordinator, consent, rid = engaged(world, phone)
    other = agencies["peers_b"] if coordinator.id == agencies["peers_a"].id else agencies["peers_a"]
    engagement = f"/v1/referrals/{rid}/engagement"
    coordinator.ok("PUT", "/v1/engagement-settings", {
        "sender_name": "Bridge Peers", "on_call": [{"phone": ON_CALL, "language": "en"},
                                                   {"phone": SUPERVISOR, "role": "admin"}]})

    # Another peer group gets not-found, exactly as for an unknown referral.
    assert other.request("GET", engagement).status_code == 404
    assert other.request("POST", f"/v1/referrals/{rid}/contacts", {
        "contacted_at": datetime.now(UTC).isoformat(), "mode": "call", "outcome": "reached"},
        headers={"Idempotency-Key": str(uuid.uuid4())}).status_code == 404

    # The contact log: the first successful contact sets the time to first contact.
    contact = coordinator.request("POST", f"/v1/referrals/{rid}/contacts", {
        "contacted_at": datetime.now(UTC).isoformat(), "mode": "in_person", "outcome": "reached",
        "duration_minutes": 30, "note": "met at the Tuesday group"},
        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert contact.status_code == 201, contact.text
    assert coordinator.ok("GET", engagement)["time_to_first_contact_seconds"] is not None

    # Double opt-in: the first text asks (in Spanish), SI starts the check-ins, the first goes out.
    coordinator.ok("POST", f"/v1/referrals/{rid}/check-ins",
                   {"method": "text_reply", "contact_window": ALWAYS})
    wait(lambda: provider.to(phone), "the opt-in text")
    assert "Bridge Peers" in provider.to(phone)[0] and "Responda SI" in provider.to(phone)[0]
    assert provider.deliver(webhook, phone, "SI").status_code == 200
    wait(lambda: any("¿cómo le va esta semana?" in body for body in provider.to(phone)), "a check-in")
    assert coordinator.ok("GET", engagement)["checkins"]["status"] == "on"

    # A forged webhook is refused and changes nothing.
    forged = provider.deliver(webhook, phone, "PARAR", token="not-the-providers-token")
    assert forged.status_code == 403 and forged.json()["code"] == "forbidden"
    assert provider.deliver(webhook, phone, "PARAR", signature="").status_code == 403

    # A reply is recorded; HELP says who is writing and how to stop.
    provider.deliver(webhook, phone, "4")
    wait(lambda: [a["score"] for a in coordinator.ok("GET", engagement)["answers"]] == [4], "the answer")
    provider.deliver(webhook, phone, "AYUDA")
    wait(lambda: "Bridge Peers (apoyo" in provider.to(phone)[-1], "the HELP answer")
    assert "PARAR" in provider.to(phone)[-1] and "988" in provider.to(phone)[-1]

    # BARC-10 at the handoff: a single-use link opening a small form in Spanish, no sign-in.
    link = wait(lambda: next((w for body in provider.to(phone) for w in body.split()
                              if w.startswith(f"{net.base_url}/v1/assessment?t=")), None), "the link")
    page = requests.get(link, timeout=30)
    assert page.status_code == 200 and 'lang="es"' in page.text and "recuperación" in page.text
    assert "Canary" not in page.text and phone not in page.text
    token = parse_qs(urlsplit(link).query)["t"][0]
    answers = {"t": token, "belonging": "5",
               **{f"item{n}": str(v) for n, v in enumerate([4, 5, 3, 6, 2, 4, 5, 6, 3, 4], 1)}}
    assert requests.post(f"{net.base_url}/v1/assessment", data=answers, timeout=30).status_code == 200
    assert requests.post(f"{net.base_url}/v1/assessment", data=answers, timeout=30).status_code == 404
    assert requests.get(link, timeout=30).status_code == 404
    assert coordinator.ok("GET", engagement)["assessments"]["items"][0]["total"] == 42

    # A Spanish crisis word: 988 in Spanish at once, and the on-call coordinator alerted.
    provider.deliver(webhook, phone, "ya no puedo más, quiero morir")
    wait(lambda: any("Línea de Prevención del Suicidio" in body for body in provider.to(phone)), "988")
    wait(lambda: provider.to(ON_CALL), "the on-call alert")
    crisis = coordinator.ok("GET", engagement)["crises"][0]
    assert crisis["id"] in provider.to(ON_CALL)[0]
    assert other.request("POST", f"/v1/crises/{crisis['id']}/acknowledge").status_code == 404
    assert coordinator.ok("POST", f"/v1/crises/{crisis['id']}/acknowledge")["acknowledged_at"]

    # STOP ends every automated message; HELP still answers.
    provider.deliver(webhook, phone, "PARAR")
    wait(lambda: coordinator.ok("GET", engagement)["checkins"]["status"] == "stopped", "STOP")
    assert coordinator.request("POST", f"/v1/referrals/{rid}/check-ins",
                               {"method": "verbal", "contact_window": ALWAYS}).status_code == 409
    stopped_at = len(provider.to(phone))
    _move_clock(world, days=8)  # a check-in would be due a week later
    settle(2.0)
    assert len(provider.to(phone)) == stopped_at


def test_revocation_mid_cadence_ends_messages_and_removes_contact_details(world, provider):
    phone = "+15555550178"
    hospital = world["agencies"]["hospital"]
    _move_clock(world, days=0)
    coordinator, consent, rid = engaged(world, phone)
    engagement = f"/v1/referrals/{rid}/engagement"
    coordinator.ok("POST", f"/v1/referrals/{rid}/check-ins",
                   {"method": "verbal", "cadence_days": 7, "contact_window": ALWAYS})
    def checkins() -> int:
        return sum("¿cómo le va esta semana?" in body for body in provider.to(phone))

    wait(lambda: checkins() == 1, "the first check-in")
    _move_clock(world, days=7, hours=1)
    wait(lambda: checkins() == 2, "the second check-in, a week later")

    hospital.ok("POST", f"/v1/consents/{consent['id']}/revoke", {"reason": "participant asked"})
    wait(lambda: coordinator.ok("GET", engagement)["status"] == "ended", "the engagement to end")
    assert coordinator.ok("GET", engagement)["reachable_by"] == []
    sent = len(provider.to(phone))
    _move_clock(world, days=14, hours=2)
    settle(2.0)
    assert len(provider.to(phone)) == sent
    with psycopg.connect(world["engagement_db"]) as connection:
        row = connection.execute("SELECT phone, email, phone_digest, status FROM engagements "
                                 "WHERE referral_id = %s", (rid,)).fetchone()
        everything = json.dumps([list(r) for r in connection.execute(
            "SELECT * FROM engagements").fetchall()], default=str)
    assert row == (None, None, None, "ended")
    assert phone not in everything


def _move_clock(world, *, days: int, hours: int = 0) -> None:
    instant = datetime.now(UTC) + timedelta(days=days, hours=hours)
    world["clock"].write_text(instant.isoformat())
