"""The messages of notifications: settings and the delivery log, for the service and the gateway.

One definition serves both: the gateway validates ``PUT /v1/notification-settings`` and the
``GET /v1/notifications`` query and renders the answers (and its OpenAPI document) with these
classes. The service owns the settings policy (HTTPS, public hosts, channels that need an
address): ``domain.settings_request.apply_settings`` checks it and names every bad field.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kit import vocabulary as v
from services.kit.errors import InvalidRequest
from services.kit.messages import StrictSchema, page_of
from services.notifications.domain.delivery import DELIVERY_STATUSES
from services.notifications.domain.message import MESSAGE_KINDS

PAGE_SIZE = 50
Cursor = tuple[datetime, str]


def encode_page(cursor: Cursor | None) -> str | None:
    """An opaque ``next_page`` token for the ``(created_at, id)`` of a page's last row."""
    if cursor is None:
        return None
    raw = json.dumps([cursor[0].isoformat(), cursor[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page(page: Any) -> Cursor | None:
    """Read a ``page`` token from ``encode_page``; raises ``InvalidRequest`` on any other."""
    if page in (None, ""):
        return None
    try:
        raw = base64.urlsafe_b64decode(str(page) + "=" * (-len(str(page)) % 4))
        at, delivery_id = json.loads(raw)
        cursor = (datetime.fromisoformat(at), str(delivery_id))
    except (binascii.Error, ValueError, TypeError):
        raise InvalidRequest("invalid page", errors={"page": ["is not a page token"]}) from None
    if cursor[0].tzinfo is None:
        raise InvalidRequest("invalid page", errors={"page": ["is not a page token"]})
    return cursor


CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


def _known_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ValueError, LookupError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValidationError("Not a known IANA time zone.") from exc


class QuietHoursSchema(StrictSchema):
    start = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME, error="Use HH:MM."))
    end = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME, error="Use HH:MM."))
    timezone = fields.String(required=True, validate=[validate.Length(max=64), _known_timezone])


class NotificationSettingsRequest(StrictSchema):
    """``PUT /v1/notification-settings``: where and when the agency hears from the network."""

    webhook_url = fields.Url(schemes={"http", "https"}, require_tld=False, allow_none=True,
                             validate=validate.Length(max=2048),
                             metadata={"description": "HTTPS to a public host in production"})
    email = v.email(allow_none=True)
    phone = v.phone(allow_none=True)
    language = v.language(load_default="en")
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    channels = fields.Dict(keys=v.one_of(v.CHANNELS), values=v.many_of(MESSAGE_KINDS), metadata={
        "description": "channel → the message kinds it carries; a channel needs its address set"})
    rotate_webhook_secret = fields.Boolean(load_default=False)

    @validates_schema
    def _reachable(self, data: dict, **kwargs: object) -> None:
        if not any(data.get(channel) for channel in ("webhook_url", "email", "phone")):
            raise ValidationError("Give at least one of webhook_url, email or phone.")


class NotificationSettingsSchema(Schema):
    """The agency's settings as it reads them back."""

    agency_id = fields.String(required=True)
    webhook_url = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    language = fields.String()
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)
    channels = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    webhook_secret_set = fields.Boolean()
    webhook_secret = fields.String(metadata={"description": "shown when first set or rotated"})
    updated_at = v.Timestamp()


class NotificationListQuery(StrictSchema):
    status = v.one_of(DELIVERY_STATUSES)
    page = v.page()


class AttemptSchema(Schema):
    number = fields.Integer(required=True)
    at = v.Timestamp(required=True)
    outcome = fields.String(required=True, metadata={"description": "sent, retryable_error or error"})
    http_status = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class DeliveryLogEntrySchema(Schema):
    """One row of ``GET /v1/notifications``: ids, channel, status and attempts only."""

    id = fields.String(required=True)
    event_id = fields.String()
    event_type = fields.String(required=True)
    channel = v.one_of(v.DELIVERY_CHANNELS, required=True)
    status = v.one_of(DELIVERY_STATUSES, required=True)
    created_at = v.Timestamp()
    next_attempt_at = v.Timestamp(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)


DeliveryPageSchema = page_of(DeliveryLogEntrySchema, "DeliveryPageSchema")
