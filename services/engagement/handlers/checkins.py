"""Automated check-ins: opt-in, the cadence timer, and what a participant's text does.

Texts are decided inside a unit of work and sent after it commits (``changes.deliver``), so no
provider call holds the database; each is recorded with its kind and outcome only.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain import words
from services.engagement.domain.commands import InboundText, ReadEngagement, StartCheckins
from services.engagement.domain.languages import catalog
from services.engagement.domain.model import ON, PENDING, STOPPED, Engagement
from services.engagement.handlers.changes import deliver, own_engagement, retried, save, saved_by_timer
from services.engagement.handlers.contacts import read_engagement
from services.engagement.handlers.crisis import signal_crisis
from services.kit.errors import InvalidRequest, NotFound

DEFAULT_SENDER_NAME = "Your peer recovery group"
FORM_PATH = "/v1/check-in"
STOP_PATH = "/v1/check-in/stop"
GONE = "This link has expired or was already used."


def sender_name(uow, agency_id: str) -> str:
    return uow.engagements.settings(agency_id)["sender_name"] or DEFAULT_SENDER_NAME


def text_for(uow, engagement: Engagement, kind: str, channel: str | None = None, **values: str) -> Text:
    """The message ``kind`` for the participant in their language, on ``channel`` (by default the
    channel of their check-ins; an answer to a text goes back by text)."""
    texts = catalog(engagement.language)
    body = texts.text(kind, group=sender_name(uow, engagement.agency_id), **values)
    if (channel or engagement.channel) == "email":
        return Text(engagement.agency_id, engagement.referral_id, kind, engagement.email or "", body,
                    channel="email", language=texts.language,
                    subject=texts.text("email_subject", group=sender_name(uow, engagement.agency_id)))
    return Text(engagement.agency_id, engagement.referral_id, kind, engagement.phone or "", body)


def checkin_email(uow, engagement: Engagement, now: datetime, base_url: str,
                  link_valid_for: timedelta) -> Text:
    """A check-in by email: a single-use link to the one-question form (expiring), a one-click stop
    link, and the ``List-Unsubscribe`` headers of RFC 8058 pointing at the stop link's POST."""
    reply, stop = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    uow.engagements.add_checkin_link(reply, engagement.agency_id, engagement.referral_id, "reply", now,
                                     now + link_valid_for)
    uow.engagements.add_checkin_link(stop, engagement.agency_id, engagement.referral_id, "stop", now, None)
    root = base_url.rstrip("/")
    reply_url, stop_url = f"{root}{FORM_PATH}?t={quote(reply)}", f"{root}{STOP_PATH}?t={quote(stop)}"
    message = text_for(uow, engagement, "checkin_email", link=reply_url, stop=stop_url)
    return replace(message, kind="checkin", headers=(
        ("List-Unsubscribe", f"<{stop_url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")))


def start_checkins(command: StartCheckins, uow, sender: TextSender, now: datetime) -> dict[str, Any]:
    """Switch check-ins on: a recorded consent starts them; ``text_reply`` sends the opt-in text
    and waits for YES. ``Conflict`` after STOP, without a phone, or once the engagement ended."""
    def attempt() -> list[Text]:
        texts = []
        with uow:
            engagement = own_engagement(uow, command.caller.agency_id, command.referral_id)
            engagement.start_checkins(method=command.method, channel=command.channel,
                                      cadence_days=command.cadence_days, window=command.window, now=now)
            if engagement.checkins == PENDING:
                texts.append(text_for(uow, engagement, "opt_in"))
            save(uow, engagement)
            uow.commit()
        return texts

    deliver(uow, sender, retried(attempt), now)
    return read_engagement(ReadEngagement(command.caller, command.referral_id), uow)


def send_due(uow, sender: TextSender, now: datetime, limit: int = 100, base_url: str = "",
             link_valid_for: timedelta = timedelta(days=7)) -> int:
    """Send the check-ins that are due inside their contact window; one outside it waits for the
    window to open. Returns how many were sent.

    The engagement is saved before its check-in is composed: one that changed since this round
    read it (a STOP, an ending) gets nothing, and the next round reads it afresh."""
    texts = []
    with uow:
        for engagement in uow.engagements.due_checkins(now, limit):
            if not engagement.messages_allowed:
                continue
            due = engagement.window.contains(now)
            if due:
                engagement.checkin_sent(now)
            else:
                engagement.next_checkin_at = engagement.window.next_open(now)
            if not saved_by_timer(uow, engagement, "check-ins") or not due:
                continue
            if engagement.channel == "email":
                texts.append(checkin_email(uow, engagement, now, base_url, link_valid_for))
            else:
                texts.append(text_for(uow, engagement, "checkin"))
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

    def attempt() -> tuple[list[Text], list[str]]:
        texts: list[Text] = []
        handled = []
        with uow:
            for engagement in uow.engagements.by_phone(command.sender):
                handled.append(engagement.referral_id)
                texts.extend(_react(uow, engagement, reading, now, ack_after))
                save(uow, engagement)
            uow.commit()
        return texts, handled

    texts, handled = retried(attempt)
    deliver(uow, sender, texts, now)
    return {"matched": bool(handled), "reading": reading.kind if handled else None}


def _react(uow, engagement: Engagement, reading: words.Reading, now: datetime,
           ack_after: timedelta) -> list[Text]:
    if reading.kind == words.CRISIS:
        _answer(uow, engagement, "crisis", None, None, now)
        return [text_for(uow, engagement, "crisis", "sms"), *signal_crisis(uow, engagement, now, ack_after)]
    if reading.kind == words.STOP:
        return [text_for(uow, engagement, "stopped", "sms")] if engagement.stop_messages() else []
    if reading.kind == words.HELP:
        return [text_for(uow, engagement, "help", "sms")]
    if reading.kind == words.YES and engagement.checkins in (PENDING, STOPPED):
        engagement.confirm_checkins("text_reply", now)
        return [text_for(uow, engagement, "opted_in", "sms")]
    score = reading.score
    word = reading.word if reading.kind in (words.WORD, words.YES) else None
    answer_id = _answer(uow, engagement, "score" if score is not None else "word", score, word, now)
    engagement.answered(now)
    engagement.events.append(("engagement.checkin_answered", {
        "referral_id": engagement.referral_id, "agency_id": engagement.agency_id, "answer_id": answer_id,
        "kind": "score" if score is not None else "word", "score": score}))
    return [text_for(uow, engagement, "thanks", "sms")] if engagement.checkins == ON else []


def _answer(uow, engagement: Engagement, kind: str, score: int | None, word: str | None,
            now: datetime) -> str:
    answer_id = str(uuid.uuid4())
    uow.engagements.add_answer(engagement.agency_id, answer_id, engagement.referral_id, now, kind,
                               score, word)
    return answer_id


# -- the check-in email's form and its stop link -----------------------------------------------

def _page_texts(engagement: Engagement) -> dict[str, Any]:
    texts = catalog(engagement.language)
    return {"language": texts.language, "direction": texts.direction}


def _link(uow, token: str, purpose: str, now: datetime) -> tuple[dict[str, Any], Engagement]:
    """The link's record and its engagement; ``NotFound`` for one that opens nothing (unknown,
    another purpose's, used, expired, or of an engagement that ended)."""
    record = uow.engagements.checkin_link(token) if token else None
    if record is None or record["purpose"] != purpose or record["used_at"] is not None \
            or (record["expires_at"] is not None and record["expires_at"] <= now):
        raise NotFound(GONE)
    engagement = uow.engagements.get(record["agency_id"], record["referral_id"])
    if engagement is None or not engagement.active:
        raise NotFound(GONE)
    return record, engagement


def checkin_form(token: str, uow, now: datetime) -> dict[str, Any]:
    """What the one-question form shows, in the participant's language: nothing about them."""
    with uow:
        _record, engagement = _link(uow, token, "reply", now)
        if engagement.checkins == STOPPED:
            raise NotFound(GONE)
    texts = catalog(engagement.language)
    return {**_page_texts(engagement), "title": texts.text("checkin_form_title"),
            "question": texts.text("checkin_form_question"), "low": texts.text("checkin_form_low"),
            "high": texts.text("checkin_form_high"), "word": texts.text("checkin_form_word"),
            "submit": texts.text("form_submit")}


def answer_by_link(token: str, score: int | None, word: str | None, uow, sender: TextSender,
                   vocabulary: words.Vocabulary, now: datetime, ack_after: timedelta) -> dict[str, Any]:
    """The form's answer (the link is used up): 1-5 and an optional word. Crisis words in the word
    get the 988 answer on the page and the same on-call alert as by text; STOP typed there ends
    every automated message. ``NotFound`` for a link that opens nothing, ``InvalidRequest``
    without a score or a word."""
    word = (word or "").strip()[:500] or None
    if score is None and word is None:
        raise InvalidRequest("Choose a number or write a word.", errors={"score": ["Choose 1 to 5."]})
    if score is not None and not 1 <= score <= 5:
        raise InvalidRequest("Choose a number from 1 to 5.", errors={"score": ["Choose 1 to 5."]})
    reading = vocabulary.read(word) if word else None

    def attempt() -> tuple[Engagement, str, list[Text]]:
        alerts: list[Text] = []
        with uow:
            _record, engagement = _link(uow, token, "reply", now)
            uow.engagements.use_checkin_link(token, now)
            texts = catalog(engagement.language)
            if reading is not None and reading.kind == words.CRISIS:
                _answer(uow, engagement, "crisis", score, None, now)
                alerts = signal_crisis(uow, engagement, now, ack_after)
                shown = texts.text("crisis")
            elif reading is not None and reading.kind == words.STOP and score is None:
                engagement.stop_messages()
                shown = texts.text("stopped", group=sender_name(uow, engagement.agency_id))
            else:
                kind = "score" if score is not None else "word"
                answer_id = _answer(uow, engagement, kind, score, word, now)
                engagement.answered(now)
                engagement.events.append(("engagement.checkin_answered", {
                    "referral_id": engagement.referral_id, "agency_id": engagement.agency_id,
                    "answer_id": answer_id, "kind": kind, "score": score}))
                shown = texts.text("checkin_form_done")
            save(uow, engagement)
            uow.commit()
        return engagement, shown, alerts

    engagement, shown, alerts = retried(attempt)
    deliver(uow, sender, alerts, now)
    return {**_page_texts(engagement), "done": shown}


def stop_page(token: str, uow, now: datetime) -> dict[str, Any]:
    """The stop link's page (a GET changes nothing): a button that stops."""
    with uow:
        _record, engagement = _link(uow, token, "stop", now)
    texts = catalog(engagement.language)
    return {**_page_texts(engagement), "title": texts.text("stop_title"),
            "question": texts.text("stop_question"), "submit": texts.text("stop_submit")}


def stop_by_link(token: str, uow, sender: TextSender, now: datetime) -> dict[str, Any]:
    """The one-click stop (RFC 8058, or the page's button): every automated message ends, on every
    channel, as STOP by text. The link stays good while the engagement lasts (a second click says
    the same)."""
    def attempt() -> Engagement:
        with uow:
            _record, engagement = _link(uow, token, "stop", now)
            engagement.stop_messages()
            save(uow, engagement)
            uow.commit()
        return engagement

    engagement = retried(attempt)
    texts = catalog(engagement.language)
    with uow:
        group = sender_name(uow, engagement.agency_id)
    return {**_page_texts(engagement), "done": texts.text("stopped", group=group)}
