"""The schemas that belong to the gateway alone: agencies, operations, problems and the page query.

Every other request and response is the owning service's schema (``services.<name>.schemas``):
one definition validates the HTTP request, renders the answer and generates ``/openapi.json``.
Requests are strict (an unknown field, or a NUL byte anywhere, is an error); responses dump
declared fields only, so nothing a service did not mean to show reaches a client.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.policy import roles_unfit_for_kind
from services.consent.schemas import REFUSAL_REASONS
from services.kit import vocabulary as v
from services.kit.messages import StrictSchema


class AgencyCreateRequest(StrictSchema):
    name = v.text(200, required=True)
    kind = v.one_of(v.AGENCY_KINDS, required=True)
    roles = v.many_of(v.ROLES, required=True, validate=validate.Length(min=1))

    @validates_schema
    def _roles_fit_kind(self, data: dict, **kwargs: object) -> None:
        unfit = roles_unfit_for_kind(data["roles"], data["kind"])
        if unfit:
            raise ValidationError(
                [f"A {data['kind']} agency cannot have the role {role}." for role in unfit],
                field_name="roles")


class AgencySchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    created_at = v.Timestamp()


class AgencyCreatedSchema(AgencySchema):
    api_key = fields.String(required=True, metadata={"description": "shown once, never again"})


class PageQuery(StrictSchema):
    """The query of a list that takes nothing but the page cursor."""

    page = v.page()


class ProblemSchema(Schema):
    """RFC 9457 problem details, with a stable machine-readable ``code``."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field → messages, with 422 only"})
    request_id = fields.String(metadata={"description": "this request's id, as in X-Request-Id"})
    reason = fields.String(validate=validate.OneOf(REFUSAL_REASONS), metadata={
        "description": "with consent_required only: why no consent covers this. The agency holding "
                       "the consent is told the reason; any other agency consent_not_found"})


class HealthSchema(Schema):
    status = fields.String(required=True)


class ReadinessSchema(Schema):
    services = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
