"""Where an agency wants its notifications, and what was delivered to it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.schemas.common import (
    PageQuery,
    PageSchema,
    RequestSchema,
    ResponseSchema,
    Timestamp,
    choice,
    language,
)
from services.kit import vocabulary as v

DELIVERY_STATUSES = ("pending", "delivered", "failed", "dropped")
CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


def _known_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ValueError, LookupError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValidationError("Not a known IANA time zone.") from exc


class QuietHoursSchema(RequestSchema):
    start = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME, error="Use HH:MM."))
    end = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME, error="Use HH:MM."))
    timezone = fields.String(required=True, validate=_known_timezone)


class NotificationSettingsRequest(RequestSchema):
    # The notifications service owns the policy (HTTPS, public hosts); here only the shape.
    webhook_url = fields.Url(schemes={"http", "https"}, require_tld=False, allow_none=True)
    email = fields.Email(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Regexp(
        r"^\+[1-9]\d{6,14}$", error="Use E.164, e.g. +15555550100."))
    language = language(load_default="en")
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    rotate_webhook_secret = fields.Boolean(load_default=False)

    @validates_schema
    def _reachable(self, data: dict, **kwargs: object) -> None:
        if not any(data.get(channel) for channel in ("webhook_url", "email", "phone")):
            raise ValidationError("Give at least one of webhook_url, email or phone.")


class NotificationSettingsSchema(ResponseSchema):
    agency_id = fields.String(required=True)
    webhook_url = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    language = fields.String()
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    webhook_secret = fields.String(metadata={"description": "shown when first set or rotated"})
    updated_at = Timestamp()


class NotificationSchema(ResponseSchema):
    id = fields.String(required=True)
    event_id = fields.String()
    event_type = fields.String(required=True)
    channel = choice(v.CHANNELS, required=True)
    status = choice(DELIVERY_STATUSES, required=True)
    attempts = fields.Integer()
    created_at = Timestamp()
    last_attempt_at = Timestamp(allow_none=True)
    next_attempt_at = Timestamp(allow_none=True)


class NotificationPageSchema(PageSchema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)


class NotificationListQuery(PageQuery):
    status = choice(DELIVERY_STATUSES)
