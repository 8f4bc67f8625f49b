"""Concurrent writers of one engagement, on SQLite and PostgreSQL, interleaved step by step.

Each writer has its own unit of work on its own connection, as two processes would (one writer
gate per process): the timer reads, another writer commits, then the timer saves. A copy read
before a STOP or an ending must not be written back over it.
"""

from __future__ import annotations

import base64
import os
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.engagement.adapters.orm import assessments as assessment_rows
from services.engagement.adapters.orm import checkin_links, crises, engagements, metadata
from services.engagement.adapters.repository import EngagementRepository
from services.engagement.domain.commands import AcknowledgeCrisis, InboundText
from services.engagement.domain.model import ACTIVE, ENDED, ON, STOPPED, Engagement
from services.engagement.domain.words import Vocabulary
from services.engagement.handlers import assessments, checkins, crisis, lifecycle, silence
from services.kit.contract import new_event
from services.kit.creations import Creations
from services.kit.crypto import KeyRing, generate_key
from services.kit.db import make_engine
from services.kit.dependencies import WorkerUnitOfWork
from services.kit.messages import Caller
from tests.integration.migrated import migrated
from tests.unit.engagement.engagement_fakes import ALWAYS, START, Outbox

PHONE, EMAIL = "+15555550177", "participant@example.org"
ON_CALL = [{"phone": "+15555550901", "language": "en", "role": "coordinator"},
           {"phone": "+15555550902", "language": "en", "role": "coordinator"},
           {"phone": "+15555550903", "language": "en", "role": "admin"}]
ACK = timedelta(minutes=10)


class Interleaving(EngagementRepository):
    """The real repository, which runs ``meanwhile`` (another writer's whole unit of work) once,
    right after the first read named ``read`` returned: after this writer read, before it saves."""

    def __init__(self, session, ring, lookup_key, read: str, meanwhile) -> None:
        super().__init__(session, ring, lookup_key)
        original = getattr(self, read)

        def reading(*args, **kwargs):
            found = original(*args, **kwargs)
            if meanwhile.pending:
                meanwhile.pending = False
                meanwhile()
            return found

        setattr(self, read, reading)


class Meanwhile:
    def __init__(self, work) -> None:
        self.work, self.pending = work, True

    def __call__(self) -> None:
        self.work()


@pytest.fixture
def network(database_url):
    """Units of work on one engagement database: ``uow()`` a process's, ``uow(read, meanwhile)``
    one whose first ``read`` lets another writer commit before it goes on."""
    url = migrated("engagement", database_url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})
    ring = KeyRing([("k1", base64.b64decode(generate_key()))])
    key = os.urandom(32)

    def uow(read: str | None = None, meanwhile: Meanwhile | None = None, consumer: str = ""):
        def repositories(session):
            repo = (Interleaving(session, ring, key, read, meanwhile) if read
                    else EngagementRepository(session, ring, key))
            return {"engagements": repo, "creations": Creations(session)}
        return WorkerUnitOfWork(factory, source="engagement", consumer=consumer, repositories=repositories)

    yield uow, engine
    engine.dispose()


def begin(uow, *, channel: str = "sms") -> Engagement:
    """An engagement with check-ins on (by ``channel``) since ``START``, its questionnaires
    scheduled, and an on-call ladder."""
    engagement = Engagement("agency-peers", "referral-1", "participant-1", "consent-1", START,
                            phone=PHONE, email=EMAIL, language="en")
    engagement.start_checkins(method="verbal", channel=channel, cadence_days=7, window=ALWAYS, now=START)
    with uow:
        uow.engagements.add(engagement)
        assessments.schedule(uow, engagement)
        uow.engagements.set_settings("agency-peers", "Bridge", ON_CALL, START)
        uow.commit()
    return engagement


def stored(engine) -> dict:
    with engine.connect() as connection:
        return dict(connection.execute(select(engagements)).one()._mapping)


def event_types(engine) -> list[str]:
    """The types of the events committed to the outbox."""
    with engine.connect() as connection:
        return [row.type for row in connection.execute(select(metadata.tables["outbox"].c.type))]


def test_a_stop_saved_while_the_silence_timer_held_its_copy_holds(network):
    uow, engine = network
    begin(uow())
    out = Outbox()
    week_later = START + timedelta(days=7)

    def stop() -> None:
        answer = checkins.receive_text(InboundText(PHONE, "STOP"), uow(), out, Vocabulary(), week_later, ACK)
        assert answer == {"matched": True, "reading": "stop"}

    timer = uow("active", Meanwhile(stop))
    reached = silence.check_silence(timer, out, week_later, 7, 14)

    row = stored(engine)
    assert (row["checkins"], row["next_checkin_at"]) == (STOPPED, None)  # the STOP holds
    assert reached == 0 and row["silence_level"] == 0  # the timer left it to its next round
    assert out.kinds() == ["stopped"]
    assert "engagement.silence_detected" not in event_types(engine)

    # The next round reads the fresh row: the silence alert goes, check-ins stay stopped.
    assert silence.check_silence(uow(), out, week_later + timedelta(minutes=5), 7, 14) == 1
    row = stored(engine)
    assert (row["checkins"], row["silence_level"]) == (STOPPED, 1)
    assert out.kinds() == ["stopped", "silence_1"]


def test_a_revocation_saved_while_the_check_in_timer_held_its_copy_keeps_the_details_purged(network):
    uow, engine = network
    begin(uow(), channel="email")
    out = Outbox()
    due = START + timedelta(days=1)
    revoked = new_event("consent.revoked", {
        "consent_id": "consent-1", "participant_id": "participant-1", "full": True,
        "revoked": {"agencies": ["agency-peers"], "classes": []},
        "remaining": {"agencies": [], "classes": []}},
        source="consent")

    def revoke() -> None:
        lifecycle.consent_ended(revoked, uow(consumer="engagement.on_consent_ended"), due)

    timer = uow("due_checkins", Meanwhile(revoke))
    sent = checkins.send_due(timer, out, due, base_url="https://network.example",
                             link_valid_for=timedelta(days=7))

    row = stored(engine)
    assert (row["status"], row["ended_reason"]) == (ENDED, "consent_revoked")
    assert (row["phone"], row["email"], row["phone_digest"]) == (None, None, None)
    assert (row["checkins"], row["next_checkin_at"]) == (STOPPED, None)
    assert sent == 0 and out.sent == []
    with engine.connect() as connection:
        assert connection.execute(select(checkin_links)).all() == []
    # Nothing restarts: the next round finds nothing due.
    assert checkins.send_due(uow(), out, due + timedelta(days=8), base_url="https://network.example") == 0
    assert out.sent == [] and stored(engine)["status"] == ENDED


def test_a_stop_whose_copy_a_timer_saved_over_is_tried_again_and_keeps_the_timers_change(network):
    uow, engine = network
    begin(uow())
    out = Outbox()
    week_later = START + timedelta(days=7)

    def silence_timer() -> None:
        assert silence.check_silence(uow(), out, week_later, 7, 14) == 1

    stopping = uow("by_phone", Meanwhile(silence_timer))
    answer = checkins.receive_text(InboundText(PHONE, "STOP"), stopping, out, Vocabulary(), week_later, ACK)

    assert answer == {"matched": True, "reading": "stop"}
    row = stored(engine)
    assert (row["status"], row["checkins"], row["silence_level"]) == (ACTIVE, STOPPED, 1)
    assert out.kinds() == ["silence_1", "stopped"]  # one answer to the STOP, from the second try
    assert event_types(engine).count("engagement.silence_detected") == 1
    assert row["version"] == 2  # added at 0, then the timer's save and the STOP's


def test_check_ins_stay_on_for_a_timer_that_raced_nobody(network):
    uow, engine = network
    begin(uow())
    out = Outbox()
    assert checkins.send_due(uow(), out, START + timedelta(days=1)) == 1
    row = stored(engine)
    assert (row["checkins"], row["version"]) == (ON, 1) and out.kinds() == ["checkin"]


def test_an_acknowledgement_saved_while_the_escalation_timer_held_its_copy_holds(network):
    uow, engine = network
    engagement = begin(uow())
    out = Outbox()
    with uow() as opening:
        out.sent.extend(crisis.signal_crisis(opening, engagement, START, ACK))
        opening.commit()
    with engine.connect() as connection:
        crisis_id = connection.execute(select(crises.c.id)).scalar_one()
    coordinator = Caller("agency-peers", "peer_group", frozenset({"coordinator"}), "person:p-1")

    def acknowledge() -> None:
        crisis.acknowledge(AcknowledgeCrisis(coordinator, crisis_id), uow(), START + timedelta(minutes=10))

    timer = uow("unacknowledged_due", Meanwhile(acknowledge))
    escalated = crisis.escalate(timer, out, START + timedelta(minutes=11), ACK)

    with engine.connect() as connection:
        row = connection.execute(select(crises)).one()
    assert escalated == 0 and [t.to for t in out.sent] == ["+15555550901"]  # the first alert only
    assert (row.acknowledged_by, row.step, row.next_escalation_at) == ("person:p-1", 0, None)
    assert [step["action"] for step in row.history] == ["signaled", "acknowledged"]


def test_a_questionnaire_is_not_sent_on_a_copy_read_before_a_stop(network):
    uow, engine = network
    begin(uow())
    out = Outbox()

    def stop() -> None:
        checkins.receive_text(InboundText(PHONE, "STOP"), uow(), out, Vocabulary(), START, ACK)

    timer = uow("get", Meanwhile(stop))
    sent = assessments.send_due(timer, out, START + timedelta(minutes=1), "https://network.example",
                                timedelta(days=7), checkins.sender_name)

    assert sent == 0 and out.kinds() == ["stopped"]
    with engine.connect() as connection:
        assert connection.execute(select(assessment_rows.c.sent_at).where(
            assessment_rows.c.sent_at.is_not(None))).all() == []
    assert stored(engine)["checkins"] == STOPPED
