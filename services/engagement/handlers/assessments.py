"""BARC-10 questionnaires: scheduled at the handoff, sent as single-use expiring links, answered on
a small form the gateway serves (no sign-in, nothing personal shown), read with their trend by the
peer group.

A link goes out only to a participant who consented to automated texts (check-ins ``on``); one due
earlier waits for that. Its token is 256 random bits, kept only as a digest; it is dropped when the
questionnaire is answered, and a link past its expiry or of an ended engagement opens nothing.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from services.engagement.adapters.repository import token_digest
from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain import assessment
from services.engagement.domain.languages import catalog
from services.engagement.domain.model import ON, Engagement
from services.engagement.handlers.changes import deliver
from services.kit.errors import InvalidRequest, NotFound

FORM_PATH = "/v1/assessment"
log = logging.getLogger(__name__)


def schedule(uow, engagement: Engagement) -> None:
    """The four questionnaires of an engagement that begins."""
    for label, due_at in assessment.due_dates(engagement.started_at):
        uow.engagements.add_assessment({
            "agency_id": engagement.agency_id, "id": str(uuid.uuid4()), "referral_id": engagement.referral_id,
            "due": label, "due_at": due_at, "token_digest": None, "sent_at": None, "expires_at": None,
            "completed_at": None, "items": None, "total": None, "belonging": None})


def send_due(uow, sender: TextSender, now: datetime, base_url: str, valid_for: timedelta,
             sender_name) -> int:
    """Text each due questionnaire's link to a participant who takes automated texts. One whose
    engagement changed since it was read here (a STOP, an ending) waits for the next round."""
    texts = []
    with uow:
        for record in uow.engagements.assessments_due(now):
            engagement = uow.engagements.get(record["agency_id"], record["referral_id"])
            if engagement is None or not engagement.messages_allowed or engagement.checkins != ON:
                continue
            if not uow.engagements.unchanged(engagement):
                log.info("questionnaires: the engagement of referral %s changed meanwhile; left to the "
                         "next round", engagement.referral_id)
                continue
            token = secrets.token_urlsafe(32)
            record.update(token_digest=token_digest(token), sent_at=now, expires_at=now + valid_for)
            uow.engagements.save_assessment(record)
            link = f"{base_url.rstrip('/')}{FORM_PATH}?t={quote(token)}"
            texts_of = catalog(engagement.language)
            group = sender_name(uow, engagement.agency_id)
            body = texts_of.text("assessment", group=group, link=link)
            if engagement.channel == "email":
                texts.append(Text(engagement.agency_id, engagement.referral_id, "assessment",
                                  engagement.email or "", body, channel="email",
                                  subject=texts_of.text("email_subject", group=group),
                                  language=texts_of.language))
            else:
                texts.append(Text(engagement.agency_id, engagement.referral_id, "assessment",
                                  engagement.phone or "", body))
        uow.commit()
    deliver(uow, sender, texts, now)
    return len(texts)


def form(token: str, uow, now: datetime) -> dict[str, Any]:
    """What the form shows, in the participant's language; ``NotFound`` for a link that opens
    nothing (unknown, used, expired, or its engagement ended)."""
    with uow:
        record, engagement = _open(uow, token, now)
    texts = catalog(engagement.language)
    return {"language": texts.language, "direction": texts.direction,
            "title": texts.text("form_title"), "intro": texts.text("form_intro"),
            "items": list(texts.texts.get("barc10") or catalog("en").texts["barc10"]),
            "belonging": texts.text("belonging"), "scale": list(texts.texts["scale"]),
            "submit": texts.text("form_submit")}


def complete(token: str, answers: dict[str, Any], uow, now: datetime) -> dict[str, Any]:
    """Record the answers (the link is used up). ``NotFound`` for a link that opens nothing, first;
    then ``InvalidRequest`` naming each unanswered item."""
    with uow:
        record, engagement = _open(uow, token, now)
        try:
            scores = assessment.score(answers)
        except assessment.InvalidAnswers as invalid:
            raise InvalidRequest("Every statement needs one answer.",
                                 errors={name: [text] for name, text in invalid.fields.items()}) from None
        record.update(token_digest=None, completed_at=now, items=list(scores.items), total=scores.total,
                      belonging=scores.belonging)
        uow.engagements.save_assessment(record)
        uow.publish("engagement.assessment_completed", {
            "referral_id": record["referral_id"], "agency_id": record["agency_id"],
            "assessment_id": record["id"], "due": record["due"], "total": scores.total,
            "belonging": scores.belonging}, aggregate_id=record["referral_id"])
        uow.commit()
    texts = catalog(engagement.language)
    return {"language": texts.language, "direction": texts.direction, "done": texts.text("form_done")}


def view(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The peer group's reading: each questionnaire and the trend of the total."""
    items = [{"id": r["id"], "due": r["due"], "due_at": r["due_at"], "sent_at": r["sent_at"],
              "completed_at": r["completed_at"], "total": r["total"], "belonging": r["belonging"],
              "items": r["items"]} for r in records]
    totals = [r["total"] for r in records if r["total"] is not None]
    return {"items": items, "trend": assessment.trend(totals)}


def _open(uow, token: str, now: datetime) -> tuple[dict[str, Any], Engagement]:
    record = uow.engagements.assessment_by_token(token) if token else None
    if record is None or record["completed_at"] is not None or record["expires_at"] is None \
            or record["expires_at"] <= now:
        raise NotFound("This link has expired or was already used.")
    engagement = uow.engagements.get(record["agency_id"], record["referral_id"])
    if engagement is None or not engagement.active:
        raise NotFound("This link has expired or was already used.")
    return record, engagement
