"""The RPC messages the notifications service accepts and returns (docs/rpc.md).

The settings body itself is validated by ``domain.settings_request.apply_settings``,
which names every bad field; here are the caller, the delivery-log page cursor and
the shapes sent back.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from services.kit import vocabulary as v
from services.kit.errors import InvalidRequest


@dataclass(frozen=True)
class Caller:
    """The authenticated agency, as the gateway describes it."""

    agency_id: str
    kind: str
    roles: tuple[str, ...]


class CallerSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the gateway may say more about the agency than this service needs

    agency_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.OneOf(v.AGENCY_KINDS))
    roles = fields.List(fields.String(validate=validate.OneOf(v.ROLES)), load_default=list)


def load_caller(raw: Any) -> Caller:
    """Parse the ``caller`` argument. Raises ``InvalidRequest`` naming each bad field."""
    try:
        data = CallerSchema().load(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        errors = {f"caller.{name}": _messages(m) for name, m in exc.messages_dict.items()}
        raise InvalidRequest("invalid caller", errors=errors) from None
    return Caller(data["agency_id"], data["kind"], tuple(data["roles"]))


def _messages(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(m) for nested in value.values() for m in _messages(nested)]
    return [str(m) for m in value] if isinstance(value, list) else [str(value)]


# -- the delivery log ------------------------------------------------------------------------

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
