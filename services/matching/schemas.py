"""The messages of mentors and matches: what the service and ``/v1/mentors``, ``/v1/matches`` speak.

One definition serves both: the gateway validates HTTP bodies and renders responses (and its
OpenAPI document) with these classes and passes the body on as it is; the service validates
again here, because it trusts no caller. Requests are strict (an unknown field is an error); ``load``
turns marshmallow's errors into ``InvalidRequest`` with dotted field names and never echoes
values. Results are dumped through schemas, so only the fields declared here leave the service.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kit import vocabulary as v
from services.kit.messages import StrictSchema, page_of
from services.matching.catalog import ExplanationItemSchema
from services.matching.domain.ladder import LEVELS


class MentorCreateRequest(StrictSchema):
    """``POST /v1/mentors``: a peer group registers one of its mentors."""

    display_name = v.text(80, required=True)
    languages = v.languages(required=True)
    gender = v.one_of(v.GENDERS, allow_none=True)
    age = fields.Integer(validate=validate.Range(min=18, max=120), allow_none=True)
    pathways = v.many_of(v.PATHWAYS, load_default=list)
    lived_experience = v.lived_experience(load_default=list)
    location = v.location(required=True)
    radius_km = fields.Float(load_default=10.0, validate=validate.Range(min=0, max=500))
    remote_ok = fields.Boolean(load_default=False)
    availability = v.slots(at_least=1, required=True)
    capacity = fields.Integer(required=True, validate=validate.Range(min=0, max=50))
    certified_until = fields.Date(required=True)
    level = v.one_of(LEVELS, allow_none=True, load_default=None, metadata={
        "description": "on the ladder: the level's caseload cap bounds the places taken; "
                       "none: own capacity only"})
    supervisor = fields.String(allow_none=True, load_default=None, validate=[
        validate.Length(min=1, max=64),
        validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                        error="A person id of the peer group or a reference, not a name.")],
        metadata={"description": "a person id of the peer group or a name-free reference"})


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
    status = v.one_of(v.MATCH_STATUSES, allow_none=True, load_default=None)
    page = v.page(allow_none=True, load_default=None)


class MentorListQuery(StrictSchema):
    active = fields.Boolean()
    page = v.page()


class DeclineRequest(StrictSchema):
    """A reason code (which the referrer sees), the coordinator's words, or both."""

    reason_code = v.status_reason(allow_none=True, load_default=None, metadata={
        "description": "why, as a code the referrer sees; words alone read as \"other\""})
    # Validated, then dropped: what a coordinator writes stays out of storage and events.
    reason = v.text(1000, allow_none=True, load_default=None,
                    metadata={"description": "the coordinator's words: checked, never stored"})

    @validates_schema
    def _some_reason(self, data: dict, **kwargs: object) -> None:
        if data.get("reason_code") is None and data.get("reason") is None:
            raise ValidationError({"reason_code": [
                f"Say why: one of {', '.join(v.STATUS_REASONS)}, and/or a reason in your words."]})


class ObjectId(StrictSchema):
    id = v.identifier(required=True)


# -- results --------------------------------------------------------------------------------------

class MentorResult(Schema):
    id = fields.String(required=True)
    agency_id = fields.String(required=True)
    display_name = fields.String(required=True)
    languages = fields.List(fields.String())
    gender = fields.String(allow_none=True)
    age = fields.Integer(allow_none=True)
    pathways = fields.List(fields.String())
    lived_experience = fields.List(fields.String())
    location = v.location(allow_none=True)
    radius_km = fields.Float()
    remote_ok = fields.Boolean()
    availability = fields.List(fields.String())
    capacity = fields.Integer()
    effective_capacity = fields.Integer(metadata={
        "description": "own capacity, no more than the level's caseload cap"})
    caseload = fields.Integer()
    level = fields.String(allow_none=True)
    supervisor = fields.String(allow_none=True)
    certified_until = v.CalendarDate()
    active = fields.Boolean()
    created_at = v.Timestamp()
    updated_at = v.Timestamp()


class MatchResult(Schema):
    id = fields.String(required=True)
    referral_id = fields.String(required=True)
    mentor_id = fields.String(required=True)
    mentor_agency_id = fields.String()
    status = v.one_of(v.MATCH_STATUSES, required=True)
    score = fields.Float(required=True)
    explanation = fields.List(fields.Nested(ExplanationItemSchema), required=True)
    urgency = fields.String()
    proposed_at = v.Timestamp()
    expires_at = v.Timestamp(allow_none=True)
    decided_at = v.Timestamp(allow_none=True)


MentorPageResult = page_of(MentorResult, "MentorPageResult")


class MatchNeedsResult(Schema):
    """The referral's needs as matching weighed them: codes only, never a participant's details."""

    urgency = fields.String(required=True)
    languages = fields.List(fields.String(), required=True)
    pathways = fields.List(fields.String(), required=True)
    age_band = fields.Integer(allow_none=True, metadata={
        "description": "the first year of the participant's five-year age band"})
    lived_experience = fields.List(fields.String(), allow_none=True, metadata={
        "description": "null when the consent did not share substance use with the network"})
    substance_use_shared = fields.Boolean(required=True)


class MatchListItem(MatchResult):
    needs = fields.Nested(MatchNeedsResult, allow_none=True, metadata={
        "description": "the referral's needs as matching saw them; null once the referral closed"})


MatchPageResult = page_of(MatchListItem, "MatchPageResult")
