"""Check-ins by email with a fake clock: the email and its links, the form's answer, a crisis typed
in it, the one-click stop, and texts answered by text for a participant checked in by email."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from services.engagement.adapters.repository import token_digest
from services.engagement.domain.commands import InboundText
from services.engagement.domain.model import ON, STOPPED, Engagement
from services.engagement.domain.words import Vocabulary
from services.engagement.handlers import checkins
from services.kit.errors import InvalidRequest, NotFound
from tests.unit.engagement.engagement_fakes import ALWAYS, START, LinksAndSettings, Outbox
from tests.unit.fake_unit_of_work import FakeUnitOfWork

ACK = timedelta(minutes=10)


class Engagements(LinksAndSettings):
    """The repository as the check-in handlers use it, in memory."""

    def __init__(self, engagement: Engagement) -> None:
        super().__init__()
        self.engagement = engagement
        self.answers: list[tuple] = []
        self.crises: list[dict] = []

    def get(self, agency_id, referral_id):
        return self.engagement if referral_id == self.engagement.referral_id else None

    def due_checkins(self, now, limit=100):
        e = self.engagement
        return [e] if e.checkins == ON and e.next_checkin_at and e.next_checkin_at <= now else []

    def by_phone(self, phone):
        return [self.engagement] if phone == self.engagement.phone else []

    def save(self, engagement):
        self.engagement = engagement

    def use_checkin_link(self, token, now):
        self.links[token_digest(token)]["used_at"] = now

    def add_answer(self, agency_id, answer_id, referral_id, at, kind, score, word):
        self.answers.append((kind, score, word))

    def add_crisis(self, record):
        self.crises.append(record)


def world(phone=None):
    engagement = Engagement("peers", "r1", "p1", "c1", START, phone=phone, email="p@example.org",
                            language="es")
    engagement.start_checkins(method="verbal", channel="email" if phone else None, cadence_days=7,
                              window=ALWAYS, now=START)
    repo = Engagements(engagement)
    return repo, FakeUnitOfWork(source="engagement", engagements=repo), Outbox()


def send(uow, out, at):
    return checkins.send_due(uow, out, at, base_url="https://net.example/", link_valid_for=timedelta(days=3))


def token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def links_of(mail) -> dict[str, str]:
    return {("stop" if "/stop?" in w else "reply"): w for w in mail.body.split() if "/v1/check-in" in w}


def test_a_due_check_in_goes_by_email_with_a_reply_link_and_a_one_click_stop():
    repo, uow, out = world()
    assert send(uow, out, START + timedelta(minutes=1)) == 1
    [mail] = out.sent
    assert (mail.channel, mail.to, mail.kind, mail.language) == ("email", "p@example.org", "checkin", "es")
    assert "Bridge" in mail.subject and "¿cómo le va esta semana?" in mail.body
    links = links_of(mail)
    assert links["reply"].startswith("https://net.example/v1/check-in?t=")
    assert dict(mail.headers) == {"List-Unsubscribe": f"<{links['stop']}>",
                                  "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    # Only digests are kept; the reply link expires, the stop link does not.
    kept = {record["purpose"]: record for record in repo.links.values()}
    assert token(links["reply"]) not in repr(repo.links)
    assert kept["reply"]["expires_at"] == START + timedelta(minutes=1, days=3)
    assert kept["stop"]["expires_at"] is None
    assert repo.messages[0]["channel"] == "email"


def test_the_form_answers_once_and_not_after_it_expired():
    repo, uow, out = world()
    send(uow, out, START + timedelta(minutes=1))
    reply = token(links_of(out.sent[0])["reply"])
    now = START + timedelta(hours=2)
    form = checkins.checkin_form(reply, uow, now)
    assert (form["language"], form["question"]) == ("es", "¿Cómo le va esta semana?")
    with pytest.raises(InvalidRequest):
        checkins.answer_by_link(reply, None, "  ", uow, out, Vocabulary(), now, ACK)
    done = checkins.answer_by_link(reply, 4, "mejor", uow, out, Vocabulary(), now, ACK)
    assert "Gracias" in done["done"] and repo.answers == [("score", 4, "mejor")]
    assert repo.engagement.last_answer_at == now
    assert [e.payload["score"] for e in uow.published if e.type == "engagement.checkin_answered"] == [4]
    with pytest.raises(NotFound):
        checkins.answer_by_link(reply, 5, None, uow, out, Vocabulary(), now, ACK)
    send(uow, out, START + timedelta(days=7, minutes=1))
    late = token(links_of(out.sent[-1])["reply"])
    with pytest.raises(NotFound):
        checkins.checkin_form(late, uow, START + timedelta(days=10, minutes=2))


def test_a_crisis_phrase_in_the_form_answers_988_on_the_page_and_alerts_the_on_call():
    repo, uow, out = world()
    send(uow, out, START + timedelta(minutes=1))
    reply = token(links_of(out.sent[0])["reply"])
    done = checkins.answer_by_link(reply, None, "ya no puedo más, quiero morir", uow, out, Vocabulary(),
                                   START + timedelta(hours=1), ACK)
    assert "988" in done["done"]
    assert [(t.channel, t.to) for t in out.sent[1:]] == [("sms", "+15555550901")]
    assert repo.answers == [("crisis", None, None)] and len(repo.crises) == 1


def test_one_click_stops_every_automated_message_and_the_link_keeps_working():
    repo, uow, out = world()
    send(uow, out, START + timedelta(minutes=1))
    stop = token(links_of(out.sent[0])["stop"])
    assert checkins.stop_page(stop, uow, START)["submit"]
    assert repo.engagement.checkins == ON  # the page alone changes nothing
    checkins.stop_by_link(stop, uow, out, START + timedelta(hours=1))
    assert repo.engagement.checkins == STOPPED
    checkins.stop_by_link(stop, uow, out, START + timedelta(hours=2))  # a second click: the same
    assert send(uow, out, START + timedelta(days=8)) == 0
    with pytest.raises(NotFound):  # a reply link of stopped check-ins opens nothing
        checkins.checkin_form(token(links_of(out.sent[0])["reply"]), uow, START + timedelta(hours=3))
    with pytest.raises(NotFound):  # a stop token is no reply token
        checkins.checkin_form(stop, uow, START + timedelta(hours=3))


def test_a_text_from_a_participant_checked_in_by_email_is_answered_by_text():
    repo, uow, out = world(phone="+15555550100")
    assert repo.engagement.channel == "email"
    checkins.receive_text(InboundText("+15555550100", "AYUDA", None), uow, out, Vocabulary(),
                          START + timedelta(hours=1), ACK)
    assert [(t.channel, t.to, t.kind) for t in out.sent] == [("sms", "+15555550100", "help")]
