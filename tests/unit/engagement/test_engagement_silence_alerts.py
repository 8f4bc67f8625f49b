"""Silence alerts with a fake clock: who is told at 7 days and at 14, once each, and the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.engagement.domain.model import Engagement
from services.engagement.handlers.silence import check_silence
from services.notifications.domain.outcome import SendOutcome
from tests.unit.fake_unit_of_work import FakeUnitOfWork

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
LADDER = [{"phone": "+15555550901", "language": "es", "role": "coordinator"},
          {"phone": "+15555550902", "language": "en", "role": "coordinator"},
          {"phone": "+15555550903", "language": "en", "role": "admin"}]


class Engagements:
    """The repository as the silence handler uses it, in memory."""

    def __init__(self, *engagements: Engagement) -> None:
        self.rows = {e.referral_id: e for e in engagements}
        self.messages: list[dict] = []

    def active(self, limit: int = 1000) -> list[Engagement]:
        return [e for e in self.rows.values() if e.active]

    def settings(self, agency_id: str) -> dict:
        return {"sender_name": "Bridge", "on_call": LADDER, "updated_at": START}

    def save(self, engagement: Engagement) -> None:
        self.rows[engagement.referral_id] = engagement

    def add_message(self, record: dict) -> None:
        self.messages.append(record)


class Phones:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> SendOutcome:
        self.sent.append((to, body))
        return SendOutcome.sent()


def run(uow, phones, days: float) -> int:
    return check_silence(uow, phones, START + timedelta(days=days), 7, 14)


def test_seven_days_alert_the_coordinator_fourteen_the_supervisor_once_each():
    repo = Engagements(Engagement("peers", "r1", "p1", "c1", START, phone="+15555550100"))
    uow, phones = FakeUnitOfWork(source="engagement", engagements=repo), Phones()
    assert run(uow, phones, 6.9) == 0 and phones.sent == []
    assert run(uow, phones, 7) == 1
    assert [to for to, _ in phones.sent] == ["+15555550901"]
    assert "7 días" in phones.sent[0][1] and "r1" in phones.sent[0][1]  # in the coordinator's language
    assert run(uow, phones, 10) == 0
    assert run(uow, phones, 14) == 1
    assert [to for to, _ in phones.sent] == ["+15555550901", "+15555550903"]
    assert [(e.type, e.payload["level"]) for e in uow.published] == [
        ("engagement.silence_detected", 1), ("engagement.silence_detected", 2)]
    assert [m["kind"] for m in repo.messages] == ["silence_1", "silence_2"]
    assert "+1555" not in repr([e.payload for e in uow.published])


def test_an_answer_or_a_contact_keeps_the_peace_and_an_ended_engagement_is_never_silent():
    answered = Engagement("peers", "r2", "p2", "c2", START, phone="+15555550101")
    answered.answered(START + timedelta(days=5))
    ended = Engagement("peers", "r3", "p3", "c3", START, phone="+15555550102")
    ended.end("consent_revoked", START + timedelta(days=1))
    repo = Engagements(answered, ended)
    uow, phones = FakeUnitOfWork(source="engagement", engagements=repo), Phones()
    assert run(uow, phones, 11) == 0
    assert run(uow, phones, 12) == 1  # seven days after the answer
    assert [to for to, _ in phones.sent] == ["+15555550901"]
