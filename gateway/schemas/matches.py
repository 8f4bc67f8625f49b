"""Mentors and proposed matches (coordinator of a peer group)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.schemas.common import (
    GENDERS,
    CalendarDate,
    LocationSchema,
    PageQuery,
    PageSchema,
    RequestSchema,
    ResponseSchema,
    Timestamp,
    choice,
    choices,
    language,
    slots,
    text,
)
from services.kit import vocabulary as v


class MentorCreateRequest(RequestSchema):
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    languages = fields.List(language(), required=True, validate=validate.Length(min=1))
    gender = choice(GENDERS)
    age = fields.Integer(validate=validate.Range(min=18, max=120))
    pathways = choices(v.PATHWAYS, load_default=list)
    lived_experience = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                                   load_default=list)
    location = fields.Nested(LocationSchema, required=True)
    radius_km = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=500))
    remote_ok = fields.Boolean(load_default=False)
    availability = slots(required=True, validate=validate.Length(min=1))
    capacity = fields.Integer(required=True, validate=validate.Range(min=0, max=50))
    certified_until = fields.Date(required=True)


class MentorPatchRequest(MentorCreateRequest):
    """Any subset of a mentor's fields, plus ``active``; at least one field."""

    active = fields.Boolean()

    def __init__(self, **kwargs: Any) -> None:
        # A PATCH names only what changes: nothing is required and no default fills the rest.
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)

    @validates_schema
    def _changes_something(self, data: dict, **kwargs: object) -> None:
        if not data:
            raise ValidationError("Name at least one field to change.")


class MentorSchema(ResponseSchema):
    id = fields.String(required=True)
    agency_id = fields.String(required=True)
    display_name = fields.String(required=True)
    languages = fields.List(fields.String())
    gender = fields.String(allow_none=True)
    age = fields.Integer(allow_none=True)
    pathways = fields.List(fields.String())
    lived_experience = fields.List(fields.String())
    location = fields.Nested(LocationSchema)
    radius_km = fields.Float()
    remote_ok = fields.Boolean()
    availability = fields.List(fields.String())
    capacity = fields.Integer()
    caseload = fields.Integer()
    certified_until = CalendarDate()
    active = fields.Boolean()
    created_at = Timestamp()


class MentorPageSchema(PageSchema):
    items = fields.List(fields.Nested(MentorSchema), required=True)


class ExplanationItemSchema(ResponseSchema):
    factor = fields.String(required=True)
    weight = fields.Float(required=True)
    score = fields.Float(required=True)
    contribution = fields.Float(required=True)


class MatchSchema(ResponseSchema):
    id = fields.String(required=True)
    referral_id = fields.String(required=True)
    mentor_id = fields.String(required=True)
    mentor_agency_id = fields.String()
    status = choice(v.MATCH_STATUSES, required=True)
    score = fields.Float(required=True)
    explanation = fields.List(fields.Nested(ExplanationItemSchema), required=True)
    urgency = fields.String()
    proposed_at = Timestamp()
    expires_at = Timestamp(allow_none=True)
    decided_at = Timestamp(allow_none=True)


class MatchPageSchema(PageSchema):
    items = fields.List(fields.Nested(MatchSchema), required=True)


class MatchListQuery(PageQuery):
    status = choice(v.MATCH_STATUSES)


class MatchDeclineRequest(RequestSchema):
    reason = text(1000, required=True)


class MentorListQuery(PageQuery):
    active = fields.Boolean()
