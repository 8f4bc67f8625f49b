"""The schemas that belong to the gateway alone: agencies, keys, operations, problems, page queries.

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
from services.kit.messages import StrictSchema, page_of


class AgencyCreateRequest(StrictSchema):
    name = v.text(200, required=True)
    kind = v.one_of((*v.AGENCY_KINDS, v.FUNDER), required=True)
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
    api_key = fields.String(metadata={
        "description": "shown once, never again: absent when an Idempotency-Key replays the creation"})


class AgencyDirectorySchema(Schema):
    """An agency in ``GET /v1/agencies``: name and kind for everyone, the rest for the operator."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    roles = fields.List(fields.String(), metadata={"description": "operator only"})
    status = v.one_of(v.AGENCY_STATUSES, metadata={"description": "operator only"})
    created_at = v.Timestamp(metadata={"description": "operator only"})
    status_changed_at = v.Timestamp(allow_none=True, metadata={"description": "operator only"})


AgencyPageSchema = page_of(AgencyDirectorySchema, "AgencyPageSchema")

KEY_NAME = r"^[A-Za-z0-9._-]{1,64}$"


class KeyCreateRequest(StrictSchema):
    name = fields.String(required=True, validate=v.Whole(
        KEY_NAME, error="1-64 letters, digits, '.', '_' or '-'."),
        metadata={"description": "the ledger names the key's actions key:<name>"})
    roles = v.many_of(v.ROLES, validate=validate.Length(min=1), metadata={
        "description": "roles the key may act in, among its agency's (default: all of them)"})


class KeyRotateRequest(StrictSchema):
    overlap_seconds = fields.Integer(validate=validate.Range(min=0, max=7 * 24 * 3600), metadata={
        "description": "how long the old key keeps working (default KEY_ROTATION_OVERLAP_SECONDS)"})


class KeySchema(Schema):
    """A machine key as its agency's admin sees it; never its secret or digest."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    status = fields.String(required=True, metadata={
        "description": "active, rotating (replaced, still working), expired or revoked"})
    created_at = v.Timestamp(required=True)
    last_used_at = v.Timestamp(allow_none=True, metadata={"description": "to the minute"})
    expires_at = v.Timestamp(allow_none=True)
    revoked_at = v.Timestamp(allow_none=True)
    replaced_by = fields.String(allow_none=True)


class KeyIssuedSchema(KeySchema):
    api_key = fields.String(required=True, metadata={"description": "shown once, never again"})


KeyPageSchema = page_of(KeySchema, "KeyPageSchema")


class DeadLetterSchema(Schema):
    """An event a consumer gave up on, as the operator sees it: ids and the error, never the body."""

    event_id = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    consumer = fields.String(required=True)
    attempts = fields.Integer(required=True)
    parked_at = fields.String(required=True)
    error = fields.String(required=True)
    unreadable = fields.Boolean(required=True)
    content_type = fields.String(allow_none=True)
    size = fields.Integer()


class DeadLetterListSchema(Schema):
    items = fields.List(fields.Nested(DeadLetterSchema), required=True,
                        metadata={"description": "the oldest 100; `referral-network deadletters` for all"})
    total = fields.Integer(required=True, metadata={"description": "letters parked now"})


class DeadLetterReplaySchema(Schema):
    replayed = fields.List(fields.Nested(DeadLetterSchema), required=True,
                           metadata={"description": "the letters sent back, one per consumer that parked it"})


class PageQuery(StrictSchema):
    """The query of a list that takes nothing but the page cursor."""

    page = v.page()


class DisclosureQuery(PageQuery):
    """``GET /v1/participants/{id}/disclosures``: a page, optionally between two instants."""

    since = fields.AwareDateTime(metadata={"description": "disclosures at or after this instant"})
    until = fields.AwareDateTime(metadata={"description": "disclosures before this instant"})


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


class ComponentStateSchema(Schema):
    broker = fields.String(metadata={"description": "ok, or unavailable: no answer over the broker in 2 s"})
    database = fields.String(required=True, metadata={"description": "ok, unavailable, or unknown"})


class ReadinessSchema(Schema):
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ComponentStateSchema), required=True)
    gateway = fields.Nested(ComponentStateSchema, required=True)
