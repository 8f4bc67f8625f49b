"""From a message and its recipient's settings to the deliveries to make."""

from __future__ import annotations

from datetime import datetime

from services.notifications.domain.delivery import PENDING, Delivery
from services.notifications.domain.message import Message
from services.notifications.domain.quiet_hours import release_time
from services.notifications.domain.settings import AgencySettings


def plan_deliveries(message: Message, settings: AgencySettings, now: datetime) -> list[Delivery]:
    """One delivery per configured channel the agency subscribed to ``message.kind``.

    Email and SMS inside the agency's quiet hours start ``deferred`` until the window
    ends, unless the message is urgent. The caller stores each delivery under its
    ``key`` and skips those that exist already (a redelivered event).
    """
    return [
        Delivery.create(message.id, message.kind, settings.agency_id, channel, now,
                        release_time(settings.quiet_hours, message.urgency, now, channel))
        for channel in settings.channels_for(message.kind)
    ]


def respect_quiet_hours(delivery: Delivery, settings: AgencySettings, urgency: str) -> None:
    """Move a retry that would fall inside the agency's quiet hours to their end.

    Call it after ``record_attempt``: the backoff knows nothing of the recipient's night.
    """
    if delivery.status != PENDING or delivery.next_attempt_at is None:
        return
    release = release_time(settings.quiet_hours, urgency, delivery.next_attempt_at,
                           delivery.channel)
    if release > delivery.next_attempt_at:
        delivery.defer_until(release)
