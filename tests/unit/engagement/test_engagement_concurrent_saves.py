"""Saves that find the engagement changed meanwhile: timers skip it for their next round, a request
and an ending run their unit of work again on a fresh copy, and give up with a ``Conflict``."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from services.engagement.domain.model import ENDED, ON, STOPPED, ChangedMeanwhile, Engagement
from services.engagement.handlers import checkins, lifecycle, silence
from services.kit.contract import new_event
from services.kit.errors import Conflict
from tests.unit.engagement.engagement_fakes import ALWAYS, START, LinksAndSettings, Outbox
from tests.unit.fake_unit_of_work import FakeUnitOfWork


class Engagements(LinksAndSettings):
    """The repository in memory, saving as the real one does: only over the version a copy was
    loaded at. ``meanwhile[referral_id]`` holds other writers' changes, each committed just before
    one save of that engagement is checked."""

    def __init__(self, *engagements: Engagement) -> None:
        super().__init__()
        self.rows = {e.referral_id: e for e in engagements}
        self.meanwhile: dict[str, list] = {}
        self.purged: list[str] = []

    def _copies(self, keep) -> list[Engagement]:
        return [copy.deepcopy(e) for e in self.rows.values() if keep(e)]

    def get(self, agency_id, referral_id):
        found = self._copies(lambda e: e.referral_id == referral_id)
        return found[0] if found else None

    def due_checkins(self, now, limit=100):
        return self._copies(lambda e: e.checkins == ON and e.next_checkin_at and e.next_checkin_at <= now)

    def active(self, limit=1000):
        return self._copies(lambda e: e.active)

    def of_consent(self, consent_id):
        return self._copies(lambda e: e.consent_id == consent_id and e.active)

    def save(self, engagement):
        pending = self.meanwhile.get(engagement.referral_id) or []
        if pending:
            change = pending.pop(0)
            row = self.rows[engagement.referral_id]
            change(row)
            row.version += 1
        if engagement.version != self.rows[engagement.referral_id].version:
            raise ChangedMeanwhile("The engagement changed meanwhile; try again.")
        engagement.version += 1
        self.rows[engagement.referral_id] = copy.deepcopy(engagement)
        self.rows[engagement.referral_id].events = []

    def purge_personal(self, agency_id, referral_id):
        self.purged.append(referral_id)

    def drop_assessment_links(self, agency_id, referral_id):
        pass  # no questionnaire links in these tests

    def drop_checkin_links(self, agency_id, referral_id):
        self.links = {k: v for k, v in self.links.items() if v["referral_id"] != referral_id}


def engagement(referral_id: str, *, channel: str = "sms") -> Engagement:
    e = Engagement("peers", referral_id, "p-" + referral_id, "c1", START, phone="+1555555" + referral_id[-4:],
                   email=f"{referral_id}@example.org")
    e.start_checkins(method="verbal", channel=channel, cadence_days=7, window=ALWAYS, now=START)
    return e


def stop(row: Engagement) -> None:
    row.stop_messages()


def test_the_check_in_timer_skips_an_engagement_stopped_meanwhile_and_sends_the_others():
    repo = Engagements(engagement("r-0001", channel="email"), engagement("r-0002"))
    repo.meanwhile["r-0001"] = [stop]
    uow, out = FakeUnitOfWork(source="engagement", engagements=repo), Outbox()

    sent = checkins.send_due(uow, out, START + timedelta(days=1), base_url="https://net.example")

    assert sent == 1 and [(t.referral_id, t.kind) for t in out.sent] == [("r-0002", "checkin")]
    assert (repo.rows["r-0001"].checkins, repo.rows["r-0001"].next_checkin_at) == (STOPPED, None)
    assert repo.links == {}  # no check-in email was composed for the stopped one
    assert repo.rows["r-0002"].next_checkin_at == START + timedelta(days=8)
    # The next round reads the STOP: nothing more for it.
    assert checkins.send_due(uow, out, START + timedelta(days=9), base_url="https://net.example") == 1
    assert [t.referral_id for t in out.sent] == ["r-0002", "r-0002"]


def test_the_silence_timer_skips_an_engagement_answered_meanwhile():
    repo = Engagements(engagement("r-0001"))
    week_later = START + timedelta(days=7)
    repo.meanwhile["r-0001"] = [lambda row: row.answered(week_later - timedelta(minutes=1))]
    uow, out = FakeUnitOfWork(source="engagement", engagements=repo), Outbox()

    assert silence.check_silence(uow, out, week_later, 7, 14) == 0

    assert out.sent == [] and uow.types() == []
    assert (repo.rows["r-0001"].last_answer_at, repo.rows["r-0001"].silence_level) == (
        week_later - timedelta(minutes=1), 0)
    # The fresh row is not silent: the next round alerts nobody.
    assert silence.check_silence(uow, out, week_later + timedelta(minutes=5), 7, 14) == 0 and out.sent == []


def test_a_one_click_stop_whose_copy_went_stale_is_tried_again_on_a_fresh_one():
    repo = Engagements(engagement("r-0001", channel="email"))
    repo.add_checkin_link("stop-token", "peers", "r-0001", "stop", START, None)
    repo.meanwhile["r-0001"] = [lambda row: setattr(row, "silence_level", 1)]  # the silence timer
    uow, out = FakeUnitOfWork(source="engagement", engagements=repo), Outbox()

    page = checkins.stop_by_link("stop-token", uow, out, START + timedelta(days=7))

    assert "Bridge" in page["done"]
    row = repo.rows["r-0001"]
    assert (row.checkins, row.silence_level, row.version) == (STOPPED, 1, 2)
    assert uow.commits == 1


def test_a_stop_that_keeps_losing_gives_up_with_a_conflict_and_changes_nothing():
    repo = Engagements(engagement("r-0001", channel="email"))
    repo.add_checkin_link("stop-token", "peers", "r-0001", "stop", START, None)
    repo.meanwhile["r-0001"] = [lambda row: None] * 3
    uow, out = FakeUnitOfWork(source="engagement", engagements=repo), Outbox()

    with pytest.raises(Conflict) as raised:
        checkins.stop_by_link("stop-token", uow, out, START)

    assert not isinstance(raised.value, ChangedMeanwhile)  # a plain Conflict crosses RPC
    assert repo.rows["r-0001"].checkins == ON and uow.commits == 0 and out.sent == []


def test_a_revocation_whose_copy_went_stale_ends_the_engagement_on_a_fresh_one_once():
    repo = Engagements(engagement("r-0001"))
    repo.meanwhile["r-0001"] = [lambda row: setattr(row, "silence_level", 1)]
    uow = FakeUnitOfWork(source="engagement", consumer="engagement.on_consent_ended", engagements=repo)
    revoked = new_event("consent.revoked", {
        "consent_id": "c1", "participant_id": "p-r-0001", "full": True,
        "revoked": {"agencies": ["peers"], "classes": []}, "remaining": {"agencies": [], "classes": []}},
        source="consent")

    lifecycle.consent_ended(revoked, uow, START + timedelta(days=7))
    lifecycle.consent_ended(revoked, uow, START + timedelta(days=7))  # delivered again: skipped

    row = repo.rows["r-0001"]
    assert (row.status, row.phone, row.email, row.checkins) == (ENDED, None, None, STOPPED)
    assert row.silence_level == 1 and uow.commits == 1
    assert set(repo.purged) == {"r-0001"}
