"""Saving an engagement with its events, finding one for a caller, and sending texts.

Concurrent writers: every save checks the version its copy was loaded at (``ChangedMeanwhile``
when another writer saved in between). A timer skips such an engagement this round
(``saved_by_timer``); a request, an inbound text or an event runs its unit of work again on a
fresh copy (``retried``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain.model import ChangedMeanwhile, Engagement
from services.kit.errors import Conflict, NotFound

log = logging.getLogger(__name__)
T = TypeVar("T")
# Tries of a request's unit of work before it answers ``Conflict``. A timer that loses a race skips
# the engagement, so a request's second try almost always succeeds.
ATTEMPTS = 3


def save(uow, engagement: Engagement) -> None:
    """Write the engagement and stage its events; ``ChangedMeanwhile`` (nothing written, nothing
    staged) when another writer saved it since it was loaded."""
    uow.engagements.save(engagement)
    publish(uow, engagement)


def saved_by_timer(uow, engagement: Engagement, timer: str) -> bool:
    """A timer's save: False when another writer (a STOP, a reply, an ending) saved the engagement
    since the timer read it. Nothing of this copy is written; the timer's next round reads the
    fresh row. Logged with the referral id only."""
    try:
        save(uow, engagement)
    except ChangedMeanwhile:
        log.info("%s: the engagement of referral %s changed meanwhile; left to the next round",
                 timer, engagement.referral_id)
        return False
    return True


def retried(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run ``work`` (one whole unit of work: it loads what it changes, saves and commits) again
    while a save in it finds the engagement changed meanwhile, up to ``attempts`` times; then a
    ``Conflict`` to try again later. A failed try commits nothing, and every try decides its texts
    and events afresh from the rows it reads."""
    attempt = 1
    while True:
        try:
            return work()
        except ChangedMeanwhile:
            if attempt >= attempts:
                log.info("an engagement kept changing meanwhile; given up after %d tries", attempts)
                raise Conflict("The engagement changed meanwhile; try again.") from None
            attempt += 1
            log.debug("an engagement changed meanwhile; try %d of %d", attempt, attempts)


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
        outcome = sender.send_message(text)
        records.append({"id": str(uuid.uuid4()), "agency_id": text.agency_id, "referral_id": text.referral_id,
                        "kind": text.kind, "channel": text.channel,
                        "status": "sent" if outcome.ok else "failed",
                        "detail": outcome.detail[:120], "sent_at": now})
        if not outcome.ok:
            log.warning("text %s for referral %s not sent: %s", text.kind, text.referral_id, outcome.detail)
    if records:
        with uow:
            for record in records:
                uow.engagements.add_message(record)
            uow.commit()
    return records
