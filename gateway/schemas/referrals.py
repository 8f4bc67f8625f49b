"""Referrals: creation by the referrer, progress by the assigned peer group, and the handoff."""

from __future__ import annotations

from marshmallow import fields, validate

from gateway.schemas.common import (
    GENDERS,
    LocationSchema,
    PageQuery,
    PageSchema,
    RequestSchema,
    ResponseSchema,
    Timestamp,
    choice,
    choices,
    language,
    object_id,
    slots,
    text,
)
from gateway.schemas.consents import ConsentSummarySchema, ParticipantView
from gateway.schemas.matches import ExplanationItemSchema
from services.kit import vocabulary as v

# What the assigned peer group reports; accepting and cancelling happen elsewhere.
REPORTED_STATUSES = ("in-progress", "on-hold", "completed", "failed")


class NeedsSchema(RequestSchema):
    languages = fields.List(language(), required=True, validate=validate.Length(min=1))
    mentor_gender = choice(GENDERS, allow_none=True)
    mentor_gender_required = fields.Boolean(load_default=False)
    pathways = choices(v.PATHWAYS, load_default=list)
    lived_experience = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                                   load_default=list)
    age = fields.Integer(validate=validate.Range(min=0, max=120), allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    remote_ok = fields.Boolean(load_default=True)
    availability = slots(load_default=list)


class ReferralCreateRequest(RequestSchema):
    participant_id = object_id(required=True)
    consent_id = object_id(required=True)
    reason = text(2000, required=True)
    urgency = choice(v.URGENCIES, load_default="routine")
    needs = fields.Nested(NeedsSchema, required=True)


class ReferralCancelRequest(RequestSchema):
    reason = text(1000, required=True)


class ReferralStatusRequest(RequestSchema):
    status = choice(REPORTED_STATUSES, required=True)
    reason = text(1000, allow_none=True, metadata={"description": "required for on-hold, failed"})


class ReferralListQuery(PageQuery):
    status = choice(v.REFERRAL_STATUSES)


class HistoryEntrySchema(ResponseSchema):
    status = fields.String(required=True)
    at = Timestamp(required=True)
    by = fields.String(required=True, metadata={"description": "agency id, or \"network\""})
    reason = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)


class ReferralMatchSchema(ResponseSchema):
    id = fields.String(required=True)
    status = choice(v.MATCH_STATUSES, metadata={"description": "the match's state in matching"})
    mentor_id = fields.String(required=True)
    mentor_agency_id = fields.String(required=True)
    score = fields.Float()
    explanation = fields.List(fields.Nested(ExplanationItemSchema))


class ReferralSchema(ResponseSchema):
    id = fields.String(required=True)
    status = choice(v.REFERRAL_STATUSES, required=True)
    urgency = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    assigned_agency_id = fields.String(allow_none=True)
    participant_id = fields.String(required=True)
    consent_id = fields.String(required=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    match = fields.Nested(ReferralMatchSchema, allow_none=True)
    waitlisted = fields.Boolean(metadata={"description": "no fitting mentor yet; matching keeps trying"})
    handoff_available = fields.Boolean()
    reason = fields.String(metadata={"description": "shown to the referring agency only"})
    needs = fields.Nested(NeedsSchema, metadata={"description": "referring agency only"})


class ReferralPageSchema(PageSchema):
    items = fields.List(fields.Nested(ReferralSchema), required=True)


class HandoffSchema(ResponseSchema):
    """Participant details disclosed to the assigned peer group: a recorded disclosure."""

    referral_id = fields.String(required=True)
    participant = fields.Nested(ParticipantView, required=True,
                                metadata={"description": "only the data classes consented to"})
    reason = fields.String(metadata={"description": "when referral-reason is consented to"})
    consent = fields.Nested(ConsentSummarySchema, required=True)
    redisclosure_notice = fields.String(required=True)
    disclosed_at = Timestamp()
