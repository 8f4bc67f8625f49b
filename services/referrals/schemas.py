"""The messages the referrals service accepts and returns over RPC (docs/rpc.md, API.md).

Requests are strict (an unknown field is an error). ``load`` turns marshmallow's errors into
``InvalidRequest`` with dotted field names. Responses are dumped through schemas too, so only
the fields declared here ever leave the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from services.kit import vocabulary as v
from services.kit.errors import InvalidRequest

LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"  # BCP 47 shaped: "es", "en-US"
GENDERS = ("female", "male", "non-binary")
# What the assigned peer group reports; accepting and cancelling happen elsewhere.
REPORTED_STATUSES = ("in-progress", "on-hold", "completed", "failed")


def _text(max_length: int, **kwargs: Any) -> fields.String:
    """Free text a person writes: not blank, bounded."""
    return fields.String(validate=[validate.Length(min=1, max=max_length),
                                   validate.Regexp(r"\S", error="Must not be blank.")], **kwargs)


def _id(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=64), **kwargs)


def _one_of(values: tuple[str, ...], **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(values), **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class CallerSchema(Schema):
    """What the gateway knows about the authenticated agency."""

    class Meta:
        unknown = EXCLUDE

    agency_id = _id(required=True)
    kind = _one_of(v.AGENCY_KINDS, required=True)
    roles = fields.List(_one_of(v.ROLES), load_default=list)


class LocationSchema(_Strict):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class NeedsSchema(_Strict):
    languages = fields.List(fields.String(validate=validate.Regexp(LANGUAGE_TAG)), required=True,
                            validate=validate.Length(min=1))
    mentor_gender = _one_of(GENDERS, allow_none=True)
    mentor_gender_required = fields.Boolean(load_default=False)
    pathways = fields.List(_one_of(v.PATHWAYS), load_default=list)
    lived_experience = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                                   load_default=list)
    age = fields.Integer(validate=validate.Range(min=0, max=120), allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    remote_ok = fields.Boolean(load_default=True)
    availability = fields.List(_one_of(v.SLOTS), load_default=list)


class ReferralCreateRequest(_Strict):
    """``POST /v1/referrals`` (API.md)."""

    participant_id = _id(required=True)
    consent_id = _id(required=True)
    reason = _text(2000, required=True)
    urgency = _one_of(v.URGENCIES, load_default="routine")
    needs = fields.Nested(NeedsSchema, required=True)


class ReferralCancelRequest(_Strict):
    reason = _text(1000, required=True)


class ReferralStatusRequest(_Strict):
    status = _one_of(REPORTED_STATUSES, required=True)
    reason = _text(1000, allow_none=True, load_default=None)


class ReferralListQuery(_Strict):
    status = _one_of(v.REFERRAL_STATUSES, allow_none=True, load_default=None)
    page = fields.String(validate=validate.Length(min=1, max=200), allow_none=True, load_default=None)


class ReferralIdSchema(_Strict):
    referral_id = _id(required=True)


# -- results ------------------------------------------------------------------------------------

class HistoryEntryResult(Schema):
    status = fields.String()
    at = fields.String()
    by = fields.String()
    reason = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)


class ExplanationItemResult(Schema):
    factor = fields.String()
    weight = fields.Float()
    score = fields.Float()
    contribution = fields.Float()


class MatchResult(Schema):
    id = fields.String()
    status = fields.String()
    mentor_id = fields.String()
    mentor_agency_id = fields.String()
    score = fields.Float()
    explanation = fields.List(fields.Nested(ExplanationItemResult))


class ReferralResult(Schema):
    id = fields.String()
    status = fields.String()
    urgency = fields.String()
    referrer_agency_id = fields.String()
    assigned_agency_id = fields.String(allow_none=True)
    participant_id = fields.String()
    consent_id = fields.String()
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntryResult))
    match = fields.Nested(MatchResult, allow_none=True)
    waitlisted = fields.Boolean()
    handoff_available = fields.Boolean()
    reason = fields.String()  # present for the referring agency only
    needs = fields.Dict()


class ReferralPageResult(Schema):
    items = fields.List(fields.Nested(ReferralResult))
    next_page = fields.String(allow_none=True)


class HandoffResult(Schema):
    referral_id = fields.String()
    participant = fields.Dict()
    consent = fields.Dict()
    redisclosure_notice = fields.String()
    disclosed_at = fields.String()


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate ``data``; raises ``InvalidRequest`` naming each bad field (never echoing values)."""
    if not isinstance(data, Mapping):
        raise InvalidRequest("Expected an object.", errors={"_schema": ["Expected an object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidRequest("Some fields are missing or invalid.",
                             errors=_flatten(exc.messages)) from None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for name, texts in _flatten(value, path).items():
                flat.setdefault(name, []).extend(texts)
        return flat
    texts = [messages] if isinstance(messages, str) else [m for m in messages if isinstance(m, str)]
    return {prefix or "_schema": texts}
