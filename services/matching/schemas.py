"""The messages the matching service accepts and returns over RPC (docs/rpc.md, docs/api.md).

The gateway validates the HTTP body and passes it on as it is; the service validates again
here, because it trusts no caller. Requests are strict (an unknown field is an error); ``load``
turns marshmallow's errors into ``InvalidRequest`` with dotted field names and never echoes
values. Results are dumped through schemas, so only the fields declared here leave the service.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kit import vocabulary as v
from services.kit.messages import StrictSchema, identifier, one_of
from services.kit.vocabulary import GENDERS, LANGUAGE_TAG
from services.matching.catalog import ExplanationItemSchema


class LocationSchema(StrictSchema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class MentorCreateRequest(StrictSchema):
    """``POST /v1/mentors`` (docs/api.md), as the gateway's schema of the same name."""

    display_name = fields.String(required=True, validate=[validate.Length(min=1, max=80),
                                                          validate.Regexp(r"\S")])
    languages = fields.List(fields.String(validate=validate.Regexp(LANGUAGE_TAG)), required=True,
                            validate=validate.Length(min=1, max=20))
    gender = one_of(GENDERS, allow_none=True)
    age = fields.Integer(validate=validate.Range(min=18, max=120), allow_none=True)
    pathways = fields.List(one_of(v.PATHWAYS), load_default=list)
    lived_experience = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                                   load_default=list, validate=validate.Length(max=20))
    location = fields.Nested(LocationSchema, required=True)
    radius_km = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=500))
    remote_ok = fields.Boolean(load_default=False)
    availability = fields.List(one_of(v.SLOTS), required=True, validate=validate.Length(min=1))
    capacity = fields.Integer(required=True, validate=validate.Range(min=0, max=50))
    certified_until = fields.Date(required=True)


class MentorPatchRequest(MentorCreateRequest):
    """``PATCH /v1/mentors/{id}``: any subset of the fields, plus ``active``; at least one."""

    active = fields.Boolean()

    def __init__(self, **kwargs: Any) -> None:
        # A PATCH names only what changes: nothing is required and no default fills the rest.
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)

    @validates_schema
    def _changes_something(self, data: dict, **kwargs: object) -> None:
        if not data:
            raise ValidationError("Name at least one field to change.")


class MatchListQuery(StrictSchema):
    status = one_of(v.MATCH_STATUSES, allow_none=True, load_default=None)


class DeclineRequest(StrictSchema):
    # Validated, then dropped: what a coordinator writes stays out of storage and events.
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=1000),
                                                    validate.Regexp(r"\S", error="Must not be blank.")])


class ObjectId(StrictSchema):
    id = identifier(required=True)


# -- results --------------------------------------------------------------------------------------

class MentorResult(Schema):
    id = fields.String()
    agency_id = fields.String()
    display_name = fields.String()
    languages = fields.List(fields.String())
    gender = fields.String(allow_none=True)
    age = fields.Integer(allow_none=True)
    pathways = fields.List(fields.String())
    lived_experience = fields.List(fields.String())
    location = fields.Dict(allow_none=True)
    radius_km = fields.Float()
    remote_ok = fields.Boolean()
    availability = fields.List(fields.String())
    capacity = fields.Integer()
    caseload = fields.Integer()
    certified_until = fields.Date()
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class MatchResult(Schema):
    id = fields.String()
    referral_id = fields.String()
    mentor_id = fields.String()
    mentor_agency_id = fields.String()
    status = fields.String()
    score = fields.Float()
    explanation = fields.List(fields.Nested(ExplanationItemSchema))
    urgency = fields.String()
    proposed_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)


class MentorPageResult(Schema):
    items = fields.List(fields.Nested(MentorResult))


class MatchPageResult(Schema):
    items = fields.List(fields.Nested(MatchResult))


