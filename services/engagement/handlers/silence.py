"""Silence: no successful contact and no check-in answer for a while.

After ``first_days`` (7 by default) the peer group's on-call coordinator is alerted and
``engagement.silence_detected`` (level 1) tells the mentor's side; after ``second_days`` (14) the
mentor's supervisor is (level 2): the participant's mentor is the referral's accepted match
(referrals), their ``supervisor`` matching's, and the supervisor's phone the peer group's
engagement settings (``supervisors``). A mentor without a supervisor, or a supervisor the settings
give no phone for, leaves the alert to the on-call admin. Each level is reached once per silence:
a successful contact or an answer starts the count again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from services.engagement.adapters.mentors import AssignedMentor, MentorDirectory
from services.engagement.adapters.sms import Text, TextSender
from services.engagement.domain.languages import catalog
from services.engagement.handlers.changes import deliver, saved_by_timer

log = logging.getLogger(__name__)
_UNKNOWN = object()


def check_silence(uow, sender: TextSender, now: datetime, first_days: int, second_days: int,
                  mentors: MentorDirectory | None = None) -> int:
    """Alert each newly silent engagement's people. Returns how many engagements reached a level.

    The mentors of engagements about to reach level 2 are looked up before the transaction
    opens; one whose lookup fails waits for the next round (it reaches no level meanwhile). An
    engagement is saved before its alerts are composed: one that changed since this round read it
    (a reply, a STOP, an ending) is left to the next round, which reads it afresh."""
    assigned = _mentors_of_second_level(uow, now, first_days, second_days, mentors)
    texts = []
    reached = 0
    with uow:
        for engagement in uow.engagements.active():
            mentor = assigned.get(engagement.referral_id)
            if mentor is _UNKNOWN:
                continue
            level = engagement.silence(now, first_days, second_days,
                                       mentor_id=mentor.mentor_id if mentor else None,
                                       supervisor=mentor.supervisor if mentor else None)
            if level is None or not saved_by_timer(uow, engagement, "silence"):
                continue
            reached += 1
            days = str(first_days if level == 1 else second_days)
            settings = uow.engagements.settings(engagement.agency_id)
            for person in _recipients(settings, level, mentor):
                body = catalog(person.get("language")).text("silence_alert", days=days,
                                                            referral_id=engagement.referral_id)
                texts.append(Text(engagement.agency_id, engagement.referral_id, f"silence_{level}",
                                  person["phone"], body))
        uow.commit()
    deliver(uow, sender, texts, now)
    return reached


def _recipients(settings: dict, level: int, mentor: AssignedMentor | None) -> list[dict]:
    """Level 1: the first on-call coordinator. Level 2: the mentor's supervisor, or, when the
    settings give no phone for them, the first on-call admin."""
    ladder = settings.get("on_call") or []
    if level == 1:
        return [p for p in ladder if p.get("role", "coordinator") == "coordinator"][:1]
    if mentor is not None and mentor.supervisor:
        found = [s for s in settings.get("supervisors") or [] if s["ref"] == mentor.supervisor][:1]
        if found:
            return found
    return [p for p in ladder if p.get("role") == "admin"][:1]


def _mentors_of_second_level(uow, now: datetime, first_days: int, second_days: int,
                             mentors: MentorDirectory | None) -> dict[str, object]:
    """Referral id → ``AssignedMentor`` (or None: no accepted mentor; ``_UNKNOWN``: the lookup
    failed) for each engagement whose silence would newly reach level 2."""
    if mentors is None:
        return {}
    with uow:
        due = [(e.agency_id, e.referral_id) for e in uow.engagements.active()
               if e.silence_level < 2 and e.quiet_level(now, first_days, second_days) == 2]
    found: dict[str, object] = {}
    for agency_id, referral_id in due:
        try:
            found[referral_id] = mentors.assigned(agency_id, referral_id)
        except Exception as exc:  # noqa: BLE001 - a service that does not answer: try next round
            log.warning("silence: the mentor of referral %s could not be read (%s)", referral_id,
                        type(exc).__name__)
            found[referral_id] = _UNKNOWN
    return found
