"""Consents: the elements of a 42 CFR Part 2 written consent, FHIR Consent shaped (referrer).

A consent missing any element is refused with 422 naming each one, so every element is either
required here or checked in ``_complete`` (which runs even when fields already failed).
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.schemas.common import (
    CalendarDate,
    RecipientsSchema,
    RequestSchema,
    ResponseSchema,
    Timestamp,
    choice,
    choices,
    language,
    object_id,
    text,
)
from services.kit import vocabulary as v

CONSENT_STATUSES = ("active", "revoked", "expired")
EXPIRING_EVENTS = ("end-of-treatment",)


def _names_anyone(recipients: dict) -> bool:
    return bool(recipients.get("agencies") or recipients.get("classes"))


class ParticipantSchema(RequestSchema):
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    birth_date = fields.Date(required=True)
    phone = fields.String(validate=validate.Regexp(r"^\+[1-9]\d{6,14}$",
                                                   error="Use E.164, e.g. +15555550100."))
    email = fields.Email()
    preferred_language = language()


class SignatureSchema(RequestSchema):
    signed_by = choice(v.SIGNERS, required=True)
    signer_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    # Required when a representative signs (guardian, health-care proxy...).
    authority = fields.String(validate=validate.Length(min=1, max=100),
                              metadata={"description": "e.g. legal guardian, health-care proxy"})
    signed_at = fields.AwareDateTime(required=True)
    method = choice(v.SIGNATURE_METHODS, required=True)

    @validates_schema
    def _representative_says_who(self, data: dict, **kwargs: object) -> None:
        if data["signed_by"] == "representative" and not data.get("authority"):
            raise ValidationError("Say how the representative relates to the participant.",
                                  field_name="authority")


class ConsentCreateRequest(RequestSchema):
    participant = fields.Nested(ParticipantSchema, required=True)
    disclosers = fields.List(object_id(), required=True, validate=validate.Length(min=1))
    recipients = fields.Nested(RecipientsSchema, required=True)
    purposes = choices(v.PURPOSES, required=True, validate=validate.Length(min=1))
    data_classes = choices(v.DATA_CLASSES, required=True, validate=validate.Length(min=1))
    valid_from = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(metadata={"description": "or expires_on"})
    expires_on = choice(EXPIRING_EVENTS, metadata={"description": "or valid_until"})
    signature = fields.Nested(SignatureSchema, required=True)

    @validates_schema(skip_on_field_errors=False)
    def _complete(self, data: dict, **kwargs: object) -> None:
        errors: dict[str, list[str]] = {}
        until, event = data.get("valid_until"), data.get("expires_on")
        if until is None and event is None:
            errors["valid_until"] = ["Give valid_until or expires_on."]
        elif until is not None and event is not None:
            errors["expires_on"] = ["Give valid_until or expires_on, not both."]
        elif until is not None and data.get("valid_from") and until <= data["valid_from"]:
            errors["valid_until"] = ["Must be after valid_from."]
        recipients = data.get("recipients")
        if recipients is not None and not _names_anyone(recipients):
            errors["recipients"] = ["Name at least one recipient agency or class."]
        if errors:
            raise ValidationError(errors)


class ConsentRevokeRequest(RequestSchema):
    reason = text(1000, required=True)
    recipients = fields.Nested(RecipientsSchema, metadata={
        "description": "only these recipients lose access (partial revocation); omit for all"})

    @validates_schema
    def _names_someone(self, data: dict, **kwargs: object) -> None:
        recipients = data.get("recipients")
        if recipients is not None and not _names_anyone(recipients):
            raise ValidationError("Name the recipients to revoke, or omit recipients.",
                                  field_name="recipients")


class RecipientsView(ResponseSchema):
    agencies = fields.List(fields.String())
    classes = fields.List(fields.String())


class SignatureView(ResponseSchema):
    signed_by = fields.String()
    signed_at = Timestamp()
    method = fields.String()


class ConsentSchema(ResponseSchema):
    id = fields.String(required=True)
    participant_id = fields.String(required=True)
    status = choice(CONSENT_STATUSES, required=True)
    disclosers = fields.List(fields.String())
    recipients = fields.Nested(RecipientsView)
    purposes = fields.List(fields.String())
    data_classes = fields.List(fields.String())
    valid_from = Timestamp()
    valid_until = Timestamp(allow_none=True)
    expires_on = fields.String(allow_none=True)
    signature = fields.Nested(SignatureView)
    created_at = Timestamp()
    revoked_at = Timestamp(allow_none=True)
    revoked = fields.Nested(RecipientsView, allow_none=True,
                            metadata={"description": "recipients taken off so far"})


class ConsentSummarySchema(ResponseSchema):
    """What a handoff says about the consent it was disclosed under."""

    id = fields.String(required=True)
    purposes = fields.List(fields.String())
    data_classes = fields.List(fields.String())
    valid_from = Timestamp()
    valid_until = Timestamp(allow_none=True)
    expires_on = fields.String(allow_none=True)
    revocation = fields.String(metadata={"description": "how the participant may revoke"})


class ParticipantView(ResponseSchema):
    given_name = fields.String()
    family_name = fields.String()
    birth_date = CalendarDate()
    phone = fields.String()
    email = fields.String()
    preferred_language = fields.String()
