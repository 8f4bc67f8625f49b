"""The RPC messages the notifications service accepts and returns (docs/rpc.md).

The settings body itself is validated by ``domain.settings_request.apply_settings``,
which names every bad field; here are the caller, the delivery-log page cursor and
the shapes sent back.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields

from services.kit.errors import InvalidRequest

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


class AttemptSchema(Schema):
    number = fields.Integer()
    at = fields.String()
    outcome = fields.String()
    http_status = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class DeliveryLogEntrySchema(Schema):
    """One row of ``GET /v1/notifications``: ids, channel, status and attempts only."""

    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    channel = fields.String()
    status = fields.String()
    next_attempt_at = fields.String(allow_none=True)
    created_at = fields.String()
    attempts = fields.List(fields.Nested(AttemptSchema))


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliveryLogEntrySchema))
    next_page = fields.String(allow_none=True)
