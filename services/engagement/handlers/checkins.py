"""Automated check-ins: opt-in, the cadence timer, and what a participant's text does.

Texts are decided inside a unit of work and sent after it commits (``changes.deliver``), so no
provider call holds the database; each is recorded with its kind and outcome only.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain import words
from services.engagement.domain.commands import InboundText, ReadEngagement, StartCheckins
from services.engagement.domain.languages import catalog
from services.engagement.domain.model import ON, PENDING, STOPPED, Engagement
from services.engagement.handlers.changes import deliver, own_engagement, save
from services.engagement.handlers.contacts import read_engagement
from services.engagement.handlers.crisis import signal_crisis

DEFAULT_SENDER_NAME = "Your peer recovery group"


def sender_name(uow, agency_id: str) -> str:
    return uow.engagements.settings(agency_id)["sender_name"] or DEFAULT_SENDER_NAME


def text_for(uow, engagement: Engagement, kind: str, **values: str) -> Text:
    body = catalog(engagement.language).text(kind, group=sender_name(uow, engagement.agency_id), **values)
    return Text(engagement.agency_id, engagement.referral_id, kind, engagement.phone or "", body)


def start_checkins(command: StartCheckins, uow, sender: TextSender, now: datetime) -> dict[str, Any]:
    """Switch check-ins on: a recorded consent starts them; ``text_reply`` sends the opt-in text
    and waits for YES. ``Conflict`` after STOP, without a phone, or once the engagement ended."""
    texts = []
    with uow:
        engagement = own_engagement(uow, command.caller.agency_id, command.referral_id)
        engagement.start_checkins(method=command.method, channel=command.channel,
                                  cadence_days=command.cadence_days, window=command.window, now=now)
        if engagement.checkins == PENDING:
            texts.append(text_for(uow, engagement, "opt_in"))
        save(uow, engagement)
        uow.commit()
    deliver(uow, sender, texts, now)
    return read_engagement(ReadEngagement(command.caller, command.referral_id), uow)


def send_due(uow, sender: TextSender, now: datetime, limit: int = 100) -> int:
    """Send the check-ins that are due inside their contact window; one outside it waits for the
    window to open. Returns how many were sent."""
    texts = []
    with uow:
        for engagement in uow.engagements.due_checkins(now, limit):
            if not engagement.messages_allowed:
                continue
            if engagement.window.contains(now):
                texts.append(text_for(uow, engagement, "checkin"))
                engagement.checkin_sent(now)
            else:
                engagement.next_checkin_at = engagement.window.next_open(now)
            save(uow, engagement)
        uow.commit()
    deliver(uow, sender, texts, now)
    return len(texts)


def receive_text(command: InboundText, uow, sender: TextSender, vocabulary: words.Vocabulary,
                 now: datetime, ack_after: timedelta) -> dict[str, Any]:
    """What a participant's text does. A sender no engagement knows gets no answer.

    Crisis words: the 988 answer in their language and an urgent alert to the on-call
    coordinator (at any hour). STOP (in any language): every automated message ends. HELP: who
    is writing and how to stop. YES: check-ins start (double opt-in). 1-5 or a word: an answer.
    """
    reading = vocabulary.read(command.body)
    texts: list[Text] = []
    handled = []
    with uow:
        for engagement in uow.engagements.by_phone(command.sender):
            handled.append(engagement.referral_id)
            texts.extend(_react(uow, engagement, reading, now, ack_after))
            save(uow, engagement)
        uow.commit()
    deliver(uow, sender, texts, now)
    return {"matched": bool(handled), "reading": reading.kind if handled else None}


def _react(uow, engagement: Engagement, reading: words.Reading, now: datetime,
           ack_after: timedelta) -> list[Text]:
    if reading.kind == words.CRISIS:
        _answer(uow, engagement, "crisis", None, None, now)
        return [text_for(uow, engagement, "crisis"), *signal_crisis(uow, engagement, now, ack_after)]
    if reading.kind == words.STOP:
        return [text_for(uow, engagement, "stopped")] if engagement.stop_messages() else []
    if reading.kind == words.HELP:
        return [text_for(uow, engagement, "help")]
    if reading.kind == words.YES and engagement.checkins in (PENDING, STOPPED):
        engagement.confirm_checkins("text_reply", now)
        return [text_for(uow, engagement, "opted_in")]
    score = reading.score
    word = reading.word if reading.kind in (words.WORD, words.YES) else None
    answer_id = _answer(uow, engagement, "score" if score is not None else "word", score, word, now)
    engagement.answered(now)
    engagement.events.append(("engagement.checkin_answered", {
        "referral_id": engagement.referral_id, "agency_id": engagement.agency_id, "answer_id": answer_id,
        "kind": "score" if score is not None else "word", "score": score}))
    return [text_for(uow, engagement, "thanks")] if engagement.checkins == ON else []


def _answer(uow, engagement: Engagement, kind: str, score: int | None, word: str | None,
            now: datetime) -> str:
    answer_id = str(uuid.uuid4())
    uow.engagements.add_answer(engagement.agency_id, answer_id, engagement.referral_id, now, kind,
                               score, word)
    return answer_id
