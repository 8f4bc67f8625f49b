"""The events the matching service publishes: their payload schemas and versions.

Registered through the ``referral_network.catalogs`` entry point ``matching``. Every
``match.*`` status but a waitlist carries the same payload (``MatchV2``);
``mentor.certification_expiring`` carries ids and days only.
"""

from __future__ import annotations

from marshmallow import fields, validate

from services.kit import vocabulary as v
from services.kit.contract import EventType, PayloadSchema
from services.matching.domain.ladder import LEVELS


class ExplanationItemV1Schema(PayloadSchema):
    factor = fields.String(required=True)
    weight = fields.Float(required=True)
    score = fields.Float(required=True)
    contribution = fields.Float(required=True)


class ExplanationItemSchema(ExplanationItemV1Schema):
    # False: the consent did not cover substance-use, so this factor's criteria were not shared.
    shared = fields.Boolean(load_default=True)
    # The ``level_cap`` item only (weight, score and contribution 0): the mentor's level on the
    # ladder caps their caseload below their own capacity; ``caseload`` is their load before this
    # proposal.
    level = fields.String(validate=validate.OneOf(LEVELS))
    cap = fields.Integer(validate=validate.Range(min=0))
    capacity = fields.Integer(validate=validate.Range(min=0))
    caseload = fields.Integer(validate=validate.Range(min=0))


class MatchV1(PayloadSchema):
    match_id = fields.String(required=True)
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    mentor_id = fields.String(required=True)
    mentor_agency_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    score = fields.Float(required=True)
    explanation = fields.List(fields.Nested(ExplanationItemV1Schema), load_default=list)
    expires_at = fields.String(load_default=None, allow_none=True)
    reason_code = fields.String(load_default=None, allow_none=True)


class MatchV2(MatchV1):
    """Version 2: each explanation item says whether its factor's criteria were shared."""

    explanation = fields.List(fields.Nested(ExplanationItemSchema), load_default=list)


def match_v1_to_v2(payload: dict) -> dict:
    """Before v2 every criterion a referral had was shared."""
    return {**payload, "explanation": [{**item, "shared": True}
                                       for item in payload.get("explanation") or ()]}


class MatchWaitlistedV1(PayloadSchema):
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    reason_code = fields.String(load_default=None, allow_none=True)


class CertificationExpiringV1(PayloadSchema):
    """A mentor's certification ends soon: ids and days only, no names."""

    mentor_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    days = fields.Integer(required=True, validate=validate.Range(min=1))  # the threshold reached
    days_left = fields.Integer(required=True, validate=validate.Range(min=0))


EVENT_TYPES = (
    EventType("match.proposed", 2, MatchV2, {1: match_v1_to_v2}),
    EventType("match.accepted", 2, MatchV2, {1: match_v1_to_v2}),
    EventType("match.declined", 2, MatchV2, {1: match_v1_to_v2}),
    EventType("match.expired", 2, MatchV2, {1: match_v1_to_v2}),
    EventType("match.withdrawn", 2, MatchV2, {1: match_v1_to_v2}),
    EventType("match.waitlisted", 1, MatchWaitlistedV1),
    EventType("mentor.certification_expiring", 1, CertificationExpiringV1),
)
