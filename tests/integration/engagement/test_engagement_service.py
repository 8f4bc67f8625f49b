"""The engagement service on real RabbitMQ, SQLite and PostgreSQL, beside the real referrals and
consent services: the handoff's contact details arrive as a ledgered disclosure, the contact log,
check-ins by text, STOP, a crisis up the on-call ladder, and the purge when consent is revoked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, text

from services.kit.errors import Conflict, InvalidRequest, NotFound
from tests.integration.referrals.referral_support import (
    BEACON,
    CANARIES,
    HARBOR,
    HOSPITAL,
    PARTICIPANT,
    grant_request,
    publish_match,
    referral_request,
)
from tests.support import settle, wait_for

PHONE = PARTICIPANT["phone"]
ON_CALL = [{"phone": "+15555550901", "language": "en", "role": "coordinator"},
           {"phone": "+15555550902", "language": "en", "role": "coordinator"},
           {"phone": "+15555550903", "language": "en", "role": "admin"}]
ALWAYS = {"start": "00:00", "end": "23:59", "timezone": "UTC"}


def accepted_referral(services, amqp_uri):
    consent, referrals, engagement = services["consent"], services["referrals"], services["engagement"]
    record = consent.grant(HOSPITAL, grant_request())
    referral = referrals.create(HOSPITAL, referral_request(record))
    publish_match(amqp_uri, "match.accepted", referral)
    wait_for(lambda: _engagement(engagement, referral["id"]), what="engagement begun")
    return record, referral


def _engagement(engagement, referral_id):
    try:
        return engagement.get(HARBOR, referral_id)
    except NotFound:
        return None


def test_an_engagement_from_handoff_to_revocation(services, base_config, engagement_config, provider, tap):
    consent, engagement = services["consent"], services["engagement"]
    record, referral = accepted_referral(services, base_config["AMQP_URI"])
    rid = referral["id"]
    view = engagement.get(HARBOR, rid)
    assert (view["status"], view["language"]) == ("active", "es")
    assert view["reachable_by"] == ["sms", "email"]
    # Reading the contact details was a disclosure to Harbor, in the participant's accounting.
    disclosures = consent.disclosures(HOSPITAL, record["participant_id"], None)["items"]
    assert any(d["recipient"] == HARBOR["agency_id"] for d in disclosures)
    # Another peer group sees nothing, exactly as for an unknown referral.
    with pytest.raises(NotFound):
        engagement.get(BEACON, rid)
    with pytest.raises(NotFound):
        engagement.log_contact(BEACON, rid, {"contacted_at": datetime.now(UTC).isoformat(),
                                             "mode": "call", "outcome": "reached"})

    # The contact log: the first successful contact sets the time to first contact.
    now = datetime.now(UTC)
    engagement.log_contact(HARBOR, rid, {"contacted_at": (now - timedelta(minutes=5)).isoformat(),
                                         "mode": "call", "outcome": "no_answer", "duration_minutes": 1})
    reached = engagement.log_contact(HARBOR, rid, {"contacted_at": now.isoformat(), "mode": "video",
                                                   "outcome": "reached", "duration_minutes": 20,
                                                   "note": "Zeferina is settling in"},
                                     idempotency_key="contact-1")
    again = engagement.log_contact(HARBOR, rid, {"contacted_at": now.isoformat(), "mode": "video",
                                                 "outcome": "reached", "duration_minutes": 20,
                                                 "note": "Zeferina is settling in"},
                                   idempotency_key="contact-1")
    assert again["id"] == reached["id"]
    view = engagement.get(HARBOR, rid)
    assert len(view["contacts"]) == 2 and view["first_contact_at"] is not None
    assert view["time_to_first_contact_seconds"] >= 0
    wait_for(lambda: tap.events("engagement.contact_logged"))

    # Check-ins with double opt-in: the first text asks, YES (in Spanish) starts them.
    supervisors = [{"ref": "person-0042", "phone": "+15555550942", "language": "es"}]
    with pytest.raises(InvalidRequest):  # each supervisor once
        engagement.put_settings(HARBOR, {"on_call": ON_CALL, "supervisors": supervisors * 2})
    saved = engagement.put_settings(HARBOR, {"sender_name": "Harbor Peers", "on_call": ON_CALL,
                                             "supervisors": supervisors})
    assert saved["supervisors"] == supervisors and saved["on_call"] == ON_CALL
    engagement.start_checkins(HARBOR, rid, {"method": "text_reply", "cadence_days": 7,
                                            "contact_window": ALWAYS})
    wait_for(lambda: provider.to(PHONE), what="opt-in text")
    assert "SI" in provider.to(PHONE)[0] and "Harbor Peers" in provider.to(PHONE)[0]
    engagement.receive_text(PHONE, "Sí")
    wait_for(lambda: len(provider.to(PHONE)) >= 3, what="confirmation and first check-in")
    assert engagement.get(HARBOR, rid)["checkins"]["status"] == "on"
    engagement.receive_text(PHONE, "4")
    wait_for(lambda: tap.events("engagement.checkin_answered"))
    assert engagement.get(HARBOR, rid)["answers"][-1]["score"] == 4

    # BARC-10 at the handoff: a single-use link, once check-ins are consented to.
    link = wait_for(lambda: _link(provider.to(PHONE)), what="the questionnaire link")
    token = parse_qs(urlsplit(link).query)["t"][0]
    assert link.startswith("https://network.example/v1/assessment?t=")
    form = engagement.assessment_form(token)
    assert form["language"] == "es" and len(form["items"]) == 10 and len(form["scale"]) == 6
    with pytest.raises(InvalidRequest):
        engagement.complete_assessment(token, {"item1": "3"})
    answers = {**{f"item{n}": str(v) for n, v in enumerate([4, 5, 3, 6, 2, 4, 5, 6, 3, 4], 1)},
               "belonging": "5"}
    engagement.complete_assessment(token, answers)
    with pytest.raises(NotFound):
        engagement.complete_assessment(token, answers)  # single use
    done = engagement.get(HARBOR, rid)["assessments"]
    assert [(a["due"], a["total"], a["belonging"]) for a in done["items"]][0] == ("handoff", 42, 5)
    assert [a["due"] for a in done["items"]] == ["handoff", "day30", "day60", "day90"]
    wait_for(lambda: tap.events("engagement.assessment_completed"))

    # A crisis: 988 in Spanish at once, the on-call ladder alerted and escalated until acknowledged.
    engagement.receive_text(PHONE, "ya no puedo, quiero morir")
    wait_for(lambda: any("988" in body for body in provider.to(PHONE)), what="988 answer")
    assert any("oprima 2 para español" in body for body in provider.to(PHONE))
    wait_for(lambda: provider.to(ON_CALL[0]["phone"]), what="first on call alerted")
    wait_for(lambda: provider.to(ON_CALL[1]["phone"]), what="escalated to the next on call")
    crisis = engagement.get(HARBOR, rid)["crises"][0]
    with pytest.raises(NotFound):
        engagement.acknowledge_crisis(BEACON, crisis["id"])
    acknowledged = engagement.acknowledge_crisis(HARBOR, crisis["id"])
    assert acknowledged["acknowledged_at"] is not None
    assert [step["action"] for step in acknowledged["history"]][0] == "signaled"
    assert acknowledged["history"][-1]["action"] == "acknowledged"

    # STOP (Spanish) ends every automated message.
    engagement.receive_text(PHONE, "PARAR")
    wait_for(lambda: engagement.get(HARBOR, rid)["checkins"]["status"] == "stopped")
    with pytest.raises(Conflict):
        engagement.start_checkins(HARBOR, rid, {"method": "verbal", "contact_window": ALWAYS})
    count = len(provider.to(PHONE))
    engagement.receive_text(PHONE, "AYUDA")  # HELP still answers
    wait_for(lambda: len(provider.to(PHONE)) == count + 1)
    assert "PARAR" in provider.to(PHONE)[-1]

    # Revocation: the engagement ends and its contact details, notes and words are gone.
    consent.revoke(HOSPITAL, record["id"], {"reason": "participant asked"})
    wait_for(lambda: engagement.get(HARBOR, rid)["status"] == "ended", what="engagement ended")
    view = engagement.get(HARBOR, rid)
    assert view["ended_reason"] in ("consent_revoked", "referral_closed") and view["reachable_by"] == []
    assert all(contact["note"] is None for contact in view["contacts"])
    dump = _database_text(engagement_config["DATABASE_URL"])
    for canary in CANARIES + ("settling in",):
        assert canary not in dump
    count = len(provider.sent)
    engagement.receive_text(PHONE, "4")
    settle(0.5)
    assert len(provider.sent) == count  # an unknown sender gets no answer


def _link(bodies: list[str]) -> str | None:
    found = [match.group(0) for body in bodies for match in [re.search(r"https://\S+", body)] if match]
    return found[0] if found else None


def _database_text(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = ("engagements", "contacts", "checkin_answers", "messages", "crises", "outbox")
        rows = [str(row) for table in tables for row in connection.execute(text(f"SELECT * FROM {table}"))]
    engine.dispose()
    return "\n".join(rows)
