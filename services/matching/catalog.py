"""The events the matching service publishes: their payload schemas and versions.

Registered through the ``referral_network.catalogs`` entry point ``matching``. Every
``match.*`` status but a waitlist carries the same payload (``MatchV1``).
"""

from __future__ import annotations

from marshmallow import fields, validate

from services.kit import vocabulary as v
from services.kit.contract import EventType, PayloadSchema


class ExplanationItemSchema(PayloadSchema):
    factor = fields.String(required=True)
    weight = fields.Float(required=True)
    score = fields.Float(required=True)
    contribution = fields.Float(required=True)


class MatchV1(PayloadSchema):
    match_id = fields.String(required=True)
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    mentor_id = fields.String(required=True)
    mentor_agency_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    score = fields.Float(required=True)
    explanation = fields.List(fields.Nested(ExplanationItemSchema), load_default=list)
    expires_at = fields.String(load_default=None, allow_none=True)
    reason_code = fields.String(load_default=None, allow_none=True)


class MatchWaitlistedV1(PayloadSchema):
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    reason_code = fields.String(load_default=None, allow_none=True)


EVENT_TYPES = (
    EventType("match.proposed", 1, MatchV1),
    EventType("match.accepted", 1, MatchV1),
    EventType("match.declined", 1, MatchV1),
    EventType("match.expired", 1, MatchV1),
    EventType("match.withdrawn", 1, MatchV1),
    EventType("match.waitlisted", 1, MatchWaitlistedV1),
)
