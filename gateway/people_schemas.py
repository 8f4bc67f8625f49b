"""The messages of people and their sessions: invitations, enrolment, sign-in.

Requests are strict like every other (``StrictSchema``); answers dump declared fields only, so a
password hash, TOTP secret or token digest can never leak through them.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kit import vocabulary as v
from services.kit.messages import StrictSchema, page_of

PERSON_STATUSES = ("invited", "enrolling", "active", "deactivated")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; this only bounds the work per request


def _password(**kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=MIN_PASSWORD, max=MAX_PASSWORD),
                         metadata={"description": f"at least {MIN_PASSWORD} characters"}, **kwargs)


def _token(**kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=200), **kwargs)


class PersonInviteRequest(StrictSchema):
    name = v.text(200, required=True)
    email = v.email(required=True)
    roles = v.many_of(v.ROLES, required=True, validate=validate.Length(min=1))


class PersonPatchRequest(StrictSchema):
    roles = v.many_of(v.ROLES, validate=validate.Length(min=1))
    status = v.one_of(("active", "deactivated"))

    @validates_schema
    def _something_changes(self, data: dict, **kwargs: object) -> None:
        if not data:
            raise ValidationError("Give roles, status or both.", field_name="_schema")


class PeopleListQuery(StrictSchema):
    page = v.page()


class PersonSchema(Schema):
    id = fields.String(required=True)
    agency_id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    status = fields.String(required=True, metadata={"enum": list(PERSON_STATUSES)})
    created_at = v.Timestamp()


class PersonInvitedSchema(PersonSchema):
    invitation_token = fields.String(required=True, metadata={"description": "shown once, never again"})
    invitation_expires_at = v.Timestamp(required=True)


PersonPageSchema = page_of(PersonSchema, "PersonPage")


class AcceptInvitationRequest(StrictSchema):
    invitation_token = _token(required=True)
    password = _password(required=True)


class EnrolmentSchema(Schema):
    person_id = fields.String(required=True)
    totp_secret = fields.String(required=True, metadata={"description": "base32; shown once"})
    provisioning_uri = fields.String(required=True, metadata={"description": "otpauth:// for a QR code"})


class SignInRequest(StrictSchema):
    email = v.email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PASSWORD))
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="Six digits."))


class SessionSchema(Schema):
    person_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    expires_at = v.Timestamp(required=True, metadata={"description": "the absolute end"})
    idle_expires_at = v.Timestamp(required=True, metadata={"description": "ends sooner if unused until then"})


class SessionCreatedSchema(SessionSchema):
    token = fields.String(required=True, metadata={
        "description": "send as 'Authorization: Bearer <token>'; shown once"})
