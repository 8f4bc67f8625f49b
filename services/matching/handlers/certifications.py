"""The certification timer: peer groups hear when a mentor's certification is about to expire.

At each threshold of ``REMINDER_DAYS`` (30 and 7 days before ``certified_until``) one
``mentor.certification_expiring`` event per mentor, carrying ids and days only; the notifications
service turns it into a message to the mentor's peer group. A reminder sent is recorded with the
certification date, so a tick repeated, a second timer or a restart never sends it twice, and a
renewed certification is reminded of again. No nameko here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.matching.domain.ladder import REMINDER_DAYS, reminder_threshold

CERTIFICATION_EXPIRING = "mentor.certification_expiring"


def remind_certifications(uow, now: datetime, thresholds: tuple[int, ...] = REMINDER_DAYS) -> int:
    """Publish the reminders due today; returns how many were published."""
    today = now.date()
    sent = 0
    with uow:
        for mentor_id, agency_id, certified_until in uow.mentors.certified_until_between(
                today, today + timedelta(days=max(thresholds))):
            days = reminder_threshold(certified_until, today, thresholds)
            if days is None or not uow.mentors.record_reminder(mentor_id, certified_until, days, now):
                continue
            uow.publish(CERTIFICATION_EXPIRING, {
                "mentor_id": mentor_id, "agency_id": agency_id, "days": days,
                "days_left": (certified_until - today).days,
            }, aggregate_id=mentor_id)
            sent += 1
        uow.commit()
    return sent
