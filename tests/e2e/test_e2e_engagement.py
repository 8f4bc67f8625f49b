"""After the handoff, on a real network with a local SMS provider that speaks Twilio's Messages API
and signs its webhooks: opt-in by text, a check-in sent, a reply recorded, HELP answered, a forged
webhook refused, a Spanish crisis word answered with 988 in Spanish and the on-call coordinator
alerted, STOP ending every automated message, and a revocation mid-cadence ending the messages
and taking the contact details out of the database. A crisis inside the peer group's quiet hours
and outside the participant's contact window is answered and alerted all the same, and climbs the
on-call ladder while nobody acknowledges it; a questionnaire link past its expiry opens nothing."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests

from services.notifications.domain.quiet_hours import is_quiet
from services.notifications.domain.settings import QuietHours
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


def engaged(world, phone: str, language: str = "es"):
    """A referral accepted by a peer group, whose engagement has begun; (coordinator, consent, id)."""
    hospital = world["agencies"]["hospital"]
    body = consent_request(hospital.id, tag=uuid.uuid4().hex[:6])
    body["participant"]["phone"] = phone
    body["participant"]["preferred_language"] = language
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


def test_silence_alerts_the_coordinator_at_seven_days_and_the_mentors_supervisor_at_fourteen(world, provider):
    _move_clock(world, days=0)
    coordinator, _consent, rid = engaged(world, "+15555550179")
    on_call, admin, supervisor = "+15555550921", "+15555550922", "+15555550923"
    mentor_id = coordinator.ok("GET", f"/v1/referrals/{rid}")["match"]["mentor_id"]
    coordinator.ok("PATCH", f"/v1/mentors/{mentor_id}", {"supervisor": "person-sup-179"})
    coordinator.ok("PUT", "/v1/engagement-settings", {
        "on_call": [{"phone": on_call}, {"phone": admin, "role": "admin"}],
        "supervisors": [{"ref": "person-sup-179", "phone": supervisor, "language": "es"}]})

    def told(phone: str) -> list[str]:
        return [body for body in provider.to(phone) if rid in body]

    _move_clock(world, days=7, hours=1)
    wait(lambda: told(on_call), "the seven-day alert to the on-call coordinator")
    assert told(supervisor) == []
    _move_clock(world, days=14, hours=1)
    wait(lambda: told(supervisor), "the fourteen-day alert to the mentor's supervisor")
    assert "14 días" in told(supervisor)[0]
    assert told(admin) == []  # the supervisor is known and reachable: not the on-call admin
    assert coordinator.ok("GET", f"/v1/referrals/{rid}/engagement")["silence_level"] == 2


def _links(mail) -> dict[str, str]:
    """The check-in form's and the stop page's links in a check-in email's text."""
    text = mail.get_body(preferencelist=("plain",)).get_content()
    found = {}
    for word in text.split():
        if "/v1/check-in/stop?t=" in word:
            found["stop"] = word
        elif "/v1/check-in?t=" in word:
            found["reply"] = word
    return found


def test_check_ins_by_email_with_a_one_question_form_a_crisis_answer_and_a_one_click_stop(
        world, provider, smtp_inbox):
    _move_clock(world, days=0)
    net, hospital = world["net"], world["agencies"]["hospital"]
    body = consent_request(hospital.id, tag=uuid.uuid4().hex[:6])
    del body["participant"]["phone"]  # an email address and no phone
    address = body["participant"]["email"]
    consent = hospital.ok("POST", "/v1/consents", body)
    made = refer(hospital, consent)
    coordinator, _ = accept_proposal([world["agencies"]["peers_a"], world["agencies"]["peers_b"]],
                                     hospital, made["id"])
    rid, on_call = made["id"], "+15555550931"
    engagement = f"/v1/referrals/{rid}/engagement"
    wait(lambda: coordinator.request("GET", engagement).status_code == 200, "the engagement to begin")
    assert coordinator.ok("GET", engagement)["reachable_by"] == ["email"]
    coordinator.ok("PUT", "/v1/engagement-settings", {"sender_name": "Bridge Peers",
                                                      "on_call": [{"phone": on_call, "language": "es"}]})
    # A text reply cannot confirm check-ins by email; a recorded consent starts them by email.
    assert coordinator.request("POST", f"/v1/referrals/{rid}/check-ins", {
        "method": "text_reply", "channel": "email"}).status_code == 409
    started = coordinator.ok("POST", f"/v1/referrals/{rid}/check-ins",
                             {"method": "verbal", "contact_window": ALWAYS})
    assert (started["checkins"]["status"], started["checkins"]["channel"]) == ("on", "email")

    def checkins() -> list:
        return [m for m in smtp_inbox.mails if m["To"] == address and "List-Unsubscribe" in m]

    mail = wait(lambda: checkins() and checkins()[0], "the check-in email")
    assert mail["Content-Language"] == "es" and "Bridge Peers" in mail["Subject"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = _links(mail)
    assert mail["List-Unsubscribe"] == f"<{links['stop']}>" and links["reply"].startswith(net.base_url)
    assert "¿cómo le va esta semana?" in mail.get_body(preferencelist=("plain",)).get_content()

    # The form: one question in Spanish, nothing about the person; an answer uses the link up.
    page = requests.get(links["reply"], timeout=30)
    assert page.status_code == 200 and 'lang="es"' in page.text and "¿Cómo le va esta semana?" in page.text
    assert "Canary" not in page.text and address not in page.text
    token = parse_qs(urlsplit(links["reply"]).query)["t"][0]
    assert requests.post(f"{net.base_url}/v1/check-in", data={"t": token}, timeout=30).status_code == 422
    answered = requests.post(f"{net.base_url}/v1/check-in", data={"t": token, "score": "4", "word": "mejor"},
                             timeout=30)
    assert answered.status_code == 200 and "Gracias" in answered.text
    assert requests.post(f"{net.base_url}/v1/check-in", data={"t": token, "score": "5"},
                         timeout=30).status_code == 404
    assert requests.get(links["reply"], timeout=30).status_code == 404
    view = coordinator.ok("GET", engagement)
    assert [(a["score"], a["word"]) for a in view["answers"]] == [(4, "mejor")]
    assert any(m["channel"] == "email" and m["kind"] == "checkin" for m in view["messages"])

    # A week later the next one; a crisis phrase typed in its form: 988 on the page, the on-call alert.
    _move_clock(world, days=7, hours=1)
    second = wait(lambda: len(checkins()) >= 2 and checkins()[1], "the second check-in email")
    token = parse_qs(urlsplit(_links(second)["reply"]).query)["t"][0]
    crisis = requests.post(f"{net.base_url}/v1/check-in",
                           data={"t": token, "word": "ya no puedo más, quiero morir"}, timeout=30)
    assert crisis.status_code == 200 and "988" in crisis.text and "Línea" in crisis.text
    crisis_id = coordinator.ok("GET", engagement)["crises"][0]["id"]
    wait(lambda: any(crisis_id in text for text in provider.to(on_call)), "the on-call alert")

    # One click (RFC 8058) ends every automated message: no check-in email a week later.
    stop = _links(second)["stop"]
    assert requests.get(stop, timeout=30).status_code == 200  # the page: a button, nothing stopped yet
    assert coordinator.ok("GET", engagement)["checkins"]["status"] == "on"
    stopped = requests.post(stop, data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert stopped.status_code == 200 and "Bridge Peers" in stopped.text
    assert coordinator.ok("GET", engagement)["checkins"]["status"] == "stopped"
    sent = len(checkins())
    _move_clock(world, days=15)
    settle(2.0)
    assert len(checkins()) == sent


def test_a_crisis_in_quiet_hours_is_answered_alerted_and_escalated_up_the_ladder_until_acknowledged(
        world, provider):
    net, agencies = world["net"], world["agencies"]
    webhook = f"{net.base_url}/v1/sms/inbound"
    peer_groups = [agencies["peers_a"], agencies["peers_b"]]
    group_phones = {peer_groups[0].id: "+15555550951", peer_groups[1].id: "+15555550952"}
    first, second, admin = "+15555550941", "+15555550942", "+15555550943"
    phone = "+15555550180"
    start = datetime.now(UTC).replace(microsecond=0)
    _set_clock(world, start)
    # The peer groups' quiet hours cover the whole test, on the engagement service's clock and on
    # the notifications service's (the real time): from an hour ago to three hours on, in New York.
    zone = ZoneInfo("America/New_York")
    quiet = {"start": (start - timedelta(hours=1)).astimezone(zone).strftime("%H:%M"),
             "end": (start + timedelta(hours=3)).astimezone(zone).strftime("%H:%M"),
             "timezone": "America/New_York"}
    window = QuietHours.parse(quiet["start"], quiet["end"], quiet["timezone"])
    assert is_quiet(window, start) and is_quiet(window, start + timedelta(hours=1))
    before = {group.id: group.ok("GET", "/v1/notification-settings") for group in peer_groups}
    try:
        for group in peer_groups:
            saved = group.ok("PUT", "/v1/notification-settings",
                             {"phone": group_phones[group.id], "quiet_hours": quiet})
            assert saved["quiet_hours"] == quiet
        coordinator, _consent, rid = engaged(world, phone)
        engagement = f"/v1/referrals/{rid}/engagement"
        group_phone = group_phones[coordinator.id]

        # The quiet hours are on: the proposal's text to the peer group waits for them to end.
        def deferred_proposal_texts() -> list[dict]:
            return [n for n in coordinator.ok("GET", "/v1/notifications?status=deferred")["items"]
                    if n["event_type"] == "match.proposed" and n["channel"] == "sms"]
        wait(deferred_proposal_texts, "the proposal's text held for the quiet hours")
        assert provider.to(group_phone) == []

        # The participant's own contact window is closed too (it opens in two hours).
        closed = {"start": (start + timedelta(hours=2)).astimezone(zone).strftime("%H:%M"),
                  "end": (start + timedelta(hours=3)).astimezone(zone).strftime("%H:%M"),
                  "timezone": "America/New_York"}
        coordinator.ok("PUT", "/v1/engagement-settings", {"sender_name": "Bridge Peers", "on_call": [
            {"phone": first, "language": "es"}, {"phone": second, "language": "en"},
            {"phone": admin, "language": "en", "role": "admin"}]})
        started = coordinator.ok("POST", f"/v1/referrals/{rid}/check-ins",
                                 {"method": "verbal", "contact_window": closed})
        assert datetime.fromisoformat(started["checkins"]["next_checkin_at"]) > start

        # A crisis in Spanish: 988 in Spanish and the first on call alerted, at once.
        assert provider.deliver(webhook, phone, "ya no puedo más, quiero morir").status_code == 200
        wait(lambda: any("Línea de Prevención del Suicidio" in body and "oprima 2 para español" in body
                         for body in provider.to(phone)), "the 988 answer in Spanish")
        crisis_id = wait(lambda: (c := coordinator.ok("GET", engagement)["crises"]) and c[0]["id"],
                         "the crisis")

        def alerts(number: str) -> list[str]:
            return [body for body in provider.to(number) if crisis_id in body]
        wait(lambda: alerts(first), "the first on call's alert")
        assert alerts(first)[0].startswith("URGENTE")
        assert provider.to(group_phone) == []  # the quiet hours still hold the peer group's own texts
        assert not any("¿cómo le va esta semana?" in body for body in provider.to(phone))

        def history() -> list[tuple]:
            steps = coordinator.ok("GET", engagement)["crises"][0]["history"]
            return [(datetime.fromisoformat(s["at"]), s["action"], s["step"], s["status"]) for s in steps]
        assert history() == [(start, "signaled", 0, "alerted")]

        # Nobody acknowledges: just before the ten minutes nothing moves, after them the next on call.
        _set_clock(world, start + timedelta(minutes=10) - timedelta(seconds=1))
        settle(1.5)
        assert alerts(second) == [] and alerts(admin) == []
        escalated = start + timedelta(minutes=10, seconds=1)
        _set_clock(world, escalated)
        wait(lambda: alerts(second), "the alert escalated to the next on call")
        assert alerts(admin) == []
        assert history() == [(start, "signaled", 0, "alerted"), (escalated, "escalated", 1, "alerted")]

        # Ten more minutes: the agency's admin, who closes the ladder.
        to_admin = escalated + timedelta(minutes=10, seconds=1)
        _set_clock(world, to_admin)
        wait(lambda: alerts(admin), "the alert escalated to the admin")
        assert history() == [(start, "signaled", 0, "alerted"), (escalated, "escalated", 1, "alerted"),
                             (to_admin, "escalated", 2, "alerted")]
        _set_clock(world, to_admin + timedelta(minutes=30))
        settle(1.5)
        assert [len(alerts(n)) for n in (first, second, admin)] == [1, 1, 1]
        assert len(history()) == 3

        acknowledged = coordinator.ok("POST", f"/v1/crises/{crisis_id}/acknowledge")
        assert acknowledged["history"][-1]["action"] == "acknowledged" and acknowledged["step"] == 2
        assert provider.to(group_phone) == []
    finally:
        for group in peer_groups:
            group.ok("PUT", "/v1/notification-settings",
                     _settings_body(before[group.id], group_phones[group.id]))


def test_a_questionnaire_link_past_its_expiry_is_refused_as_an_unknown_one_and_records_nothing(
        world, provider):
    net = world["net"]
    phone = "+15555550181"
    _move_clock(world, days=0)
    coordinator, _consent, rid = engaged(world, phone, language="ar")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)  # the handoff's is due
    _set_clock(world, start)
    engagement = f"/v1/referrals/{rid}/engagement"
    coordinator.ok("POST", f"/v1/referrals/{rid}/check-ins", {"method": "verbal", "contact_window": ALWAYS})
    link = wait(lambda: next((w for body in provider.to(phone) for w in body.split()
                              if w.startswith(f"{net.base_url}/v1/assessment?t=")), None), "the link")
    token = parse_qs(urlsplit(link).query)["t"][0]
    answers = {"t": token, "belonging": "5", **{f"item{n}": "4" for n in range(1, 11)}}
    unknown = secrets.token_urlsafe(32)
    unknown_page = requests.get(f"{net.base_url}/v1/assessment?t={unknown}", timeout=30)
    unknown_answer = requests.post(f"{net.base_url}/v1/assessment", data={**answers, "t": unknown},
                                   timeout=30)
    assert (unknown_page.status_code, unknown_answer.status_code) == (404, 404)

    # Valid for ASSESSMENT_LINK_DAYS (7) from when it was sent: a minute before, it still opens
    # (in Arabic, right to left).
    _set_clock(world, start + timedelta(days=7) - timedelta(minutes=1))
    still = requests.get(link, timeout=30)
    assert still.status_code == 200 and '<html lang="ar" dir="rtl">' in still.text

    _set_clock(world, start + timedelta(days=7))
    expired_page = requests.get(link, timeout=30)
    expired_answer = requests.post(f"{net.base_url}/v1/assessment", data=answers, timeout=30)
    for expired, unknown_one in ((expired_page, unknown_page), (expired_answer, unknown_answer)):
        assert expired.status_code == 404
        assert expired.text == unknown_one.text
        assert expired.headers["Content-Type"] == unknown_one.headers["Content-Type"]
    assert 'name="item1"' not in expired_page.text and 'dir="rtl"' not in expired_page.text

    view = coordinator.ok("GET", engagement)["assessments"]
    handoff = view["items"][0]
    assert handoff["due"] == "handoff" and datetime.fromisoformat(handoff["sent_at"]) == start
    assert (handoff["completed_at"], handoff["total"], handoff["belonging"], handoff["items"]) == (
        None, None, None, None)
    assert all(item["completed_at"] is None for item in view["items"]) and view["trend"] is None


def _settings_body(view: dict, phone: str) -> dict:
    """A PUT body that gives an agency back the notification settings ``view`` shows (a channel
    whose address is unset is left out, as the PUT refuses it). Settings need an address: an agency
    that had none keeps ``phone``, carrying nothing."""
    body = {name: view[name] for name in ("webhook_url", "email", "phone", "language", "quiet_hours")
            if view.get(name) is not None}
    needs = {"webhook": "webhook_url", "email": "email", "sms": "phone"}
    body["channels"] = {channel: kinds for channel, kinds in (view.get("channels") or {}).items()
                        if view.get(needs[channel])}
    if not any(view.get(address) for address in needs.values()):
        body.update(phone=phone, channels={"sms": []})
    return body


def _move_clock(world, *, days: int, hours: int = 0) -> None:
    _set_clock(world, datetime.now(UTC) + timedelta(days=days, hours=hours))


def _set_clock(world, instant: datetime) -> None:
    world["clock"].write_text(instant.isoformat())
