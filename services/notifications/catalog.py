"""The events the notifications service publishes: the outcome of each delivery.

Registered through the ``referral_network.catalogs`` entry point ``notifications``.
"""

from __future__ import annotations

from marshmallow import fields, validate

from services.kit import vocabulary as v
from services.kit.contract import EventType, PayloadSchema


class NotificationOutcomeV1(PayloadSchema):
    notification_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(v.DELIVERY_CHANNELS))
    attempts = fields.Integer(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)


EVENT_TYPES = (
    EventType("notification.delivered", 1, NotificationOutcomeV1),
    EventType("notification.failed", 1, NotificationOutcomeV1),
)
