"""Building blocks shared by the request and response schemas of the HTTP API (docs/api.md).

Requests are strict: an unknown field is an error, so a typo never silently drops data.
Responses are used to dump what services return: fields not declared here are left out, which
keeps anything a service did not mean to show from reaching a client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from services.kit import vocabulary as v

LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"  # BCP 47 shaped: "es", "en-US"
GENDERS = ("female", "male", "non-binary")


class RequestSchema(Schema):
    class Meta:
        unknown = RAISE


class ResponseSchema(Schema):
    """Dump-only shapes; timestamps may arrive from services as ISO strings already."""


def choice(values: Iterable[str], **kwargs: Any) -> fields.String:
    """A string that must be one of ``values`` (from the shared vocabulary)."""
    return fields.String(validate=validate.OneOf(tuple(values)), **kwargs)


def choices(values: Iterable[str], **kwargs: Any) -> fields.List:
    return fields.List(choice(values), **kwargs)


def object_id(**kwargs: Any) -> fields.String:
    """An opaque id (a UUID in practice); never interpreted by the gateway."""
    return fields.String(validate=validate.Length(min=1, max=64), **kwargs)


def text(max_length: int, **kwargs: Any) -> fields.String:
    """Free text a person writes: not blank, bounded."""
    return fields.String(validate=[validate.Length(min=1, max=max_length),
                                   validate.Regexp(r"\S", error="Must not be blank.")], **kwargs)


def language(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(LANGUAGE_TAG, error="Not a language tag."),
                         **kwargs)


def slots(**kwargs: Any) -> fields.List:
    """Week slots such as "mon-evening" (``{mon..sun}-{morning,afternoon,evening,night}``)."""
    return choices(v.SLOTS, **kwargs)


class Timestamp(fields.AwareDateTime):
    """UTC ISO-8601; on dump, a string a service already formatted passes through."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class CalendarDate(fields.Date):
    """A date ("2027-06-30"); on dump, a string passes through."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class LocationSchema(RequestSchema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class RecipientsSchema(RequestSchema):
    """Recipients by agency id and by agency class (e.g. every ``peer_group``)."""

    agencies = fields.List(object_id(), load_default=list)
    classes = choices(v.AGENCY_KINDS, load_default=list)


class PageQuery(RequestSchema):
    page = fields.String(validate=validate.Length(min=1, max=500),
                         metadata={"description": "the next_page value of the previous page"})


class PageSchema(ResponseSchema):
    next_page = fields.String(allow_none=True,
                              metadata={"description": "opaque cursor for the next page; null on the last"})


class ProblemSchema(ResponseSchema):
    """RFC 9457 problem details, with a stable machine-readable ``code``."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field → messages, with 422 only"})
    request_id = fields.String(metadata={"description": "this request's id, as in X-Request-Id"})


class HealthSchema(ResponseSchema):
    status = fields.String(required=True)


class ReadinessSchema(ResponseSchema):
    services = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
