"""Silence: no successful contact and no check-in answer for a while.

After ``first_days`` (7 by default) the peer group's on-call coordinator is alerted and
``engagement.silence_detected`` (level 1) tells the mentor's side; after ``second_days`` (14) the
agency's admin, the mentor's supervisor, is alerted too (level 2). Each level is reached once per
silence: a successful contact or an answer starts the count again.
"""

from __future__ import annotations

from datetime import datetime

from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain.languages import catalog
from services.engagement.handlers.changes import deliver, save


def check_silence(uow, sender: TextSender, now: datetime, first_days: int, second_days: int) -> int:
    """Alert each newly silent engagement's people. Returns how many engagements reached a level."""
    texts = []
    reached = 0
    with uow:
        for engagement in uow.engagements.active():
            level = engagement.silence(now, first_days, second_days)
            if level is None:
                continue
            reached += 1
            days = str(first_days if level == 1 else second_days)
            ladder = uow.engagements.settings(engagement.agency_id)["on_call"]
            wanted = ("coordinator",) if level == 1 else ("admin",)
            people = [p for p in ladder if p.get("role", "coordinator") in wanted][:1]
            for person in people:
                body = catalog(person.get("language")).text("silence_alert", days=days,
                                                            referral_id=engagement.referral_id)
                texts.append(Text(engagement.agency_id, engagement.referral_id, f"silence_{level}",
                                  person["phone"], body))
            save(uow, engagement)
        uow.commit()
    deliver(uow, sender, texts, now)
    return reached
