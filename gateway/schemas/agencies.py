"""Agencies and their API keys (admin)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.policy import roles_unfit_for_kind
from gateway.schemas.common import RequestSchema, ResponseSchema, Timestamp, choice, choices
from services.kit import vocabulary as v


class AgencyCreateRequest(RequestSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = choice(v.AGENCY_KINDS, required=True)
    roles = choices(v.ROLES, required=True, validate=validate.Length(min=1))

    @validates_schema
    def _roles_fit_kind(self, data: dict, **kwargs: object) -> None:
        unfit = roles_unfit_for_kind(data["roles"], data["kind"])
        if unfit:
            raise ValidationError(
                [f"A {data['kind']} agency cannot have the role {role}." for role in unfit],
                field_name="roles")


class AgencySchema(ResponseSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    created_at = Timestamp()


class AgencyCreatedSchema(AgencySchema):
    api_key = fields.String(required=True, metadata={"description": "shown once, never again"})
