"""The messages the referrals service accepts and returns over RPC (docs/rpc.md, docs/api.md).

Requests are strict (an unknown field is an error). ``load`` turns marshmallow's errors into
``InvalidRequest`` with dotted field names. Responses are dumped through schemas too, so only
the fields declared here ever leave the service.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.kit import vocabulary as v
from services.kit.messages import StrictSchema, identifier, one_of
from services.kit.vocabulary import GENDERS, LANGUAGE_TAG
from services.matching.catalog import ExplanationItemSchema

# What the assigned peer group reports; accepting and cancelling happen elsewhere.
REPORTED_STATUSES = ("in-progress", "on-hold", "completed", "failed")


def _text(max_length: int, **kwargs: Any) -> fields.String:
    """Free text a person writes: not blank, bounded."""
    return fields.String(validate=[validate.Length(min=1, max=max_length),
                                   validate.Regexp(r"\S", error="Must not be blank.")], **kwargs)


class LocationSchema(StrictSchema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class NeedsSchema(StrictSchema):
    languages = fields.List(fields.String(validate=validate.Regexp(LANGUAGE_TAG)), required=True,
                            validate=validate.Length(min=1))
    mentor_gender = one_of(GENDERS, allow_none=True)
    mentor_gender_required = fields.Boolean(load_default=False)
    pathways = fields.List(one_of(v.PATHWAYS), load_default=list)
    lived_experience = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                                   load_default=list)
    age = fields.Integer(validate=validate.Range(min=0, max=120), allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    remote_ok = fields.Boolean(load_default=True)
    availability = fields.List(one_of(v.SLOTS), load_default=list)


class ReferralCreateRequest(StrictSchema):
    """``POST /v1/referrals`` (docs/api.md)."""

    participant_id = identifier(required=True)
    consent_id = identifier(required=True)
    reason = _text(2000, required=True)
    urgency = one_of(v.URGENCIES, load_default="routine")
    needs = fields.Nested(NeedsSchema, required=True)


class ReferralCancelRequest(StrictSchema):
    reason = _text(1000, required=True)


class ReferralStatusRequest(StrictSchema):
    status = one_of(REPORTED_STATUSES, required=True)
    reason = _text(1000, allow_none=True, load_default=None)


class ReferralListQuery(StrictSchema):
    status = one_of(v.REFERRAL_STATUSES, allow_none=True, load_default=None)
    page = fields.String(validate=validate.Length(min=1, max=200), allow_none=True, load_default=None)


class ReferralIdSchema(StrictSchema):
    referral_id = identifier(required=True)


# -- results ------------------------------------------------------------------------------------

class HistoryEntryResult(Schema):
    status = fields.String()
    at = fields.String()
    by = fields.String()
    reason = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)


class MatchResult(Schema):
    id = fields.String()
    status = fields.String()
    mentor_id = fields.String()
    mentor_agency_id = fields.String()
    score = fields.Float()
    explanation = fields.List(fields.Nested(ExplanationItemSchema))


class ReferralResult(Schema):
    id = fields.String()
    status = fields.String()
    urgency = fields.String()
    referrer_agency_id = fields.String()
    assigned_agency_id = fields.String(allow_none=True)
    participant_id = fields.String()
    consent_id = fields.String()
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntryResult))
    match = fields.Nested(MatchResult, allow_none=True)
    waitlisted = fields.Boolean()
    handoff_available = fields.Boolean()
    reason = fields.String()  # present for the referring agency only
    needs = fields.Dict()


class ReferralPageResult(Schema):
    items = fields.List(fields.Nested(ReferralResult))
    next_page = fields.String(allow_none=True)


class HandoffResult(Schema):
    referral_id = fields.String()
    participant = fields.Dict()
    consent = fields.Dict()
    redisclosure_notice = fields.String()
    disclosed_at = fields.String()


