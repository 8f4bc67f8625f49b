"""Saving an engagement with its events, finding one for a caller, and sending texts."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain.model import Engagement
from services.kit.errors import NotFound

log = logging.getLogger(__name__)


def save(uow, engagement: Engagement) -> None:
    uow.engagements.save(engagement)
    publish(uow, engagement)


def publish(uow, engagement: Engagement) -> None:
    for type_, payload in engagement.events:
        uow.publish(type_, payload, aggregate_id=engagement.referral_id)
    engagement.events.clear()


def own_engagement(uow, agency_id: str, referral_id: str) -> Engagement:
    """The caller's engagement; another agency's, or none, is ``NotFound`` alike."""
    engagement = uow.engagements.get(agency_id, referral_id)
    if engagement is None:
        raise NotFound("No engagement for this referral.")
    return engagement


def deliver(uow, sender: TextSender, texts: list[Text], now: datetime) -> list[dict[str, Any]]:
    """Send each text (outside any open unit of work) and record what became of it, without the
    number or the words. Returns the records."""
    records = []
    for text in texts:
        outcome = sender.send(text.to, text.body)
        records.append({"id": str(uuid.uuid4()), "agency_id": text.agency_id, "referral_id": text.referral_id,
                        "kind": text.kind, "channel": "sms", "status": "sent" if outcome.ok else "failed",
                        "detail": outcome.detail[:120], "sent_at": now})
        if not outcome.ok:
            log.warning("text %s for referral %s not sent: %s", text.kind, text.referral_id, outcome.detail)
    if records:
        with uow:
            for record in records:
                uow.engagements.add_message(record)
            uow.commit()
    return records
