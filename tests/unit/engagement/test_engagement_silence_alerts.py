"""Silence alerts with a fake clock: who is told at 7 days and at 14, once each, and the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.engagement.adapters.mentors import AssignedMentor
from services.engagement.domain.model import Engagement
from services.engagement.handlers.silence import check_silence
from services.notifications.domain.outcome import SendOutcome
from tests.unit.fake_unit_of_work import FakeUnitOfWork

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
LADDER = [{"phone": "+15555550901", "language": "es", "role": "coordinator"},
          {"phone": "+15555550902", "language": "en", "role": "coordinator"},
          {"phone": "+15555550903", "language": "en", "role": "admin"}]
SUPERVISORS = [{"ref": "person-0042", "phone": "+15555550942", "language": "es"},
               {"ref": "person-0043", "phone": "+15555550943", "language": "en"}]


class Engagements:
    """The repository as the silence handler uses it, in memory."""

    def __init__(self, *engagements: Engagement) -> None:
        self.rows = {e.referral_id: e for e in engagements}
        self.messages: list[dict] = []

    def active(self, limit: int = 1000) -> list[Engagement]:
        return [e for e in self.rows.values() if e.active]

    def settings(self, agency_id: str) -> dict:
        return {"sender_name": "Bridge", "on_call": LADDER, "supervisors": SUPERVISORS, "updated_at": START}

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

    def send_message(self, text) -> SendOutcome:
        return self.send(text.to, text.body)


class Mentors:
    """The mentor directory: each referral's mentor and supervisor, or a service that fails."""

    def __init__(self, assigned: dict[str, AssignedMentor | None], failing: bool = False) -> None:
        self.assigned_by_referral, self.failing, self.asked = assigned, failing, []

    def assigned(self, agency_id: str, referral_id: str) -> AssignedMentor | None:
        self.asked.append(referral_id)
        if self.failing:
            raise TimeoutError("matching did not answer")
        return self.assigned_by_referral.get(referral_id)


def run(uow, phones, days: float, mentors=None) -> int:
    return check_silence(uow, phones, START + timedelta(days=days), 7, 14, mentors)


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


def test_fourteen_days_alert_the_mentors_own_supervisor_and_the_event_names_them():
    repo = Engagements(Engagement("peers", "r4", "p4", "c4", START, phone="+15555550104"),
                       Engagement("peers", "r5", "p5", "c5", START, phone="+15555550105"))
    mentors = Mentors({"r4": AssignedMentor("m-1", "person-0043"),
                       "r5": AssignedMentor("m-2", "person-0042")})
    uow, phones = FakeUnitOfWork(source="engagement", engagements=repo), Phones()
    assert run(uow, phones, 7, mentors) == 2
    assert mentors.asked == []  # the mentors are looked up for the second level only
    assert run(uow, phones, 14, mentors) == 2
    second = {to: body for to, body in phones.sent[2:]}
    assert set(second) == {"+15555550943", "+15555550942"}  # not the on-call admin
    assert "14 days" in second["+15555550943"] and "14 días" in second["+15555550942"]
    levels = {e.payload["referral_id"]: e.payload for e in uow.published if e.payload["level"] == 2}
    assert (levels["r4"]["mentor_id"], levels["r4"]["supervisor"]) == ("m-1", "person-0043")
    assert run(uow, phones, 20, mentors) == 0 and len(phones.sent) == 4
    assert sorted(mentors.asked) == ["r4", "r5"]


def test_without_a_supervisors_phone_the_on_call_admin_is_told_and_a_failed_lookup_waits():
    repo = Engagements(Engagement("peers", "r6", "p6", "c6", START, phone="+15555550106"),
                       Engagement("peers", "r7", "p7", "c7", START, phone="+15555550107"))
    uow, phones = FakeUnitOfWork(source="engagement", engagements=repo), Phones()
    run(uow, phones, 8)
    phones.sent.clear()
    # The directory does not answer: nobody is told at 14 days yet, and it is asked again.
    assert run(uow, phones, 14, Mentors({}, failing=True)) == 0 and phones.sent == []
    unknown = Mentors({"r6": AssignedMentor("m-3", "person-9999"), "r7": AssignedMentor("m-4", None)})
    assert run(uow, phones, 14.1, unknown) == 2
    assert [to for to, _ in phones.sent] == ["+15555550903", "+15555550903"]
