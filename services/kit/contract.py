"""The event contract shared by every service.

One envelope for every event, and a catalog of event types, each with a
versioned payload schema. Payloads carry ids and matching criteria only: never
names, contact details or clinicians' free text (docs/events.md).

Publishing an invalid event raises ``ContractError`` (a programming error);
a consumer that receives one parks it as a dead letter instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.kit import vocabulary as v


class ContractError(ValueError):
    """An event that does not match the catalog."""


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    source = fields.String(required=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(load_default=None, allow_none=True)
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    """A validated event as consumers see it."""

    id: str
    type: str
    version: int
    occurred_at: datetime
    source: str
    correlation_id: str
    causation_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "source": self.source,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "payload": self.payload,
        }


# -- payload schemas -------------------------------------------------------------------------

class _Payload(Schema):
    class Meta:
        # Unknown keys are an error: a field that is not in the catalog may be personal.
        unknown = "raise"


class RecipientsSchema(_Payload):
    agencies = fields.List(fields.String(), load_default=list)
    classes = fields.List(fields.String(validate=validate.OneOf(v.AGENCY_KINDS)), load_default=list)


class ConsentGrantedV1(_Payload):
    consent_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    disclosers = fields.List(fields.String(), required=True)
    recipients = fields.Nested(RecipientsSchema, required=True)
    purposes = fields.List(fields.String(validate=validate.OneOf(v.PURPOSES)), required=True)
    data_classes = fields.List(fields.String(validate=validate.OneOf(v.DATA_CLASSES)), required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(load_default=None, allow_none=True)
    expires_on = fields.String(load_default=None, allow_none=True)


class ConsentRevokedV1(_Payload):
    consent_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    # What was taken off; the consent stays in force for ``remaining`` unless ``full``.
    revoked = fields.Nested(RecipientsSchema, required=True)
    remaining = fields.Nested(RecipientsSchema, required=True)
    full = fields.Boolean(required=True)


class ConsentExpiredV1(_Payload):
    consent_id = fields.String(required=True)
    participant_id = fields.String(required=True)


class LocationSchema(_Payload):
    # Coarse: rounded to two decimals (about a kilometre) before it leaves referrals.
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class CriteriaSchema(_Payload):
    languages = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    mentor_gender = fields.String(load_default=None, allow_none=True)
    mentor_gender_required = fields.Boolean(load_default=False)
    pathways = fields.List(fields.String(validate=validate.OneOf(v.PATHWAYS)), load_default=list)
    lived_experience = fields.List(fields.String(), load_default=list)
    age_band = fields.Integer(load_default=None, allow_none=True)  # lower bound of a 5-year band
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    remote_ok = fields.Boolean(load_default=True)
    availability = fields.List(fields.String(validate=validate.OneOf(v.SLOTS)), load_default=list)


class AllowedPeerGroupsSchema(RecipientsSchema):
    # Agencies revoked by name: off limits even where a class (peer_group) still covers them.
    excluded = fields.List(fields.String(), load_default=list)


class ReferralRequestedV1(_Payload):
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    consent_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    # Peer groups the consent covers: these agencies, plus every agency of these classes.
    allowed = fields.Nested(AllowedPeerGroupsSchema, required=True)
    criteria = fields.Nested(CriteriaSchema, required=True)


class ReferralStatusChangedV1(_Payload):
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    assigned_agency_id = fields.String(load_default=None, allow_none=True)
    participant_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    from_status = fields.String(required=True, validate=validate.OneOf(v.REFERRAL_STATUSES))
    to_status = fields.String(required=True, validate=validate.OneOf(v.REFERRAL_STATUSES))
    # A machine code (e.g. "consent_revoked", "stated"); the words a person wrote stay in referrals.
    reason_code = fields.String(load_default=None, allow_none=True)


class ExplanationItemSchema(_Payload):
    factor = fields.String(required=True)
    weight = fields.Float(required=True)
    score = fields.Float(required=True)
    contribution = fields.Float(required=True)


class MatchV1(_Payload):
    match_id = fields.String(required=True)
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    mentor_id = fields.String(required=True)
    mentor_agency_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    score = fields.Float(required=True)
    explanation = fields.List(fields.Nested(ExplanationItemSchema), load_default=list)
    expires_at = fields.String(load_default=None, allow_none=True)
    reason_code = fields.String(load_default=None, allow_none=True)


class MatchWaitlistedV1(_Payload):
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    reason_code = fields.String(load_default=None, allow_none=True)


class NotificationOutcomeV1(_Payload):
    notification_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(v.CHANNELS))
    attempts = fields.Integer(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)


# -- the catalog -----------------------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    schema: type[Schema]
    # upcasters[n] turns a version-n payload into version n+1.
    upcasters: dict[int, Upcaster] = field(default_factory=dict)


CATALOG: dict[str, EventType] = {
    t.name: t
    for t in [
        EventType("consent.granted", 1, ConsentGrantedV1),
        EventType("consent.revoked", 1, ConsentRevokedV1),
        EventType("consent.expired", 1, ConsentExpiredV1),
        EventType("referral.requested", 1, ReferralRequestedV1),
        EventType("referral.status_changed", 1, ReferralStatusChangedV1),
        EventType("match.proposed", 1, MatchV1),
        EventType("match.accepted", 1, MatchV1),
        EventType("match.declined", 1, MatchV1),
        EventType("match.expired", 1, MatchV1),
        EventType("match.withdrawn", 1, MatchV1),
        EventType("match.waitlisted", 1, MatchWaitlistedV1),
        EventType("notification.delivered", 1, NotificationOutcomeV1),
        EventType("notification.failed", 1, NotificationOutcomeV1),
    ]
}


def _event_type(name: str) -> EventType:
    try:
        return CATALOG[name]
    except KeyError:
        raise ContractError(f"unknown event type {name!r}") from None


def new_event(
    type_: str,
    payload: dict[str, Any],
    *,
    source: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """Build a current-version event, validating its payload against the catalog.

    Raises ``ContractError`` for an unknown type or a payload that does not fit.
    """
    spec = _event_type(type_)
    try:
        clean = spec.schema().load(payload)
    except ValidationError as exc:
        raise ContractError(f"invalid {type_} payload: {exc.messages}") from exc
    event_id = str(uuid.uuid4())
    return Event(
        id=event_id,
        type=type_,
        version=spec.version,
        occurred_at=occurred_at or datetime.now(UTC),
        source=source,
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
        payload=spec.schema().dump(clean),
    )


def parse_event(message: Any) -> Event:
    """Validate an incoming message and upcast its payload to the current version.

    Raises ``ContractError`` when the envelope, type, version or payload is invalid.
    """
    if not isinstance(message, dict):
        raise ContractError("event body is not a JSON object")
    try:
        env = EnvelopeSchema().load(message)
    except ValidationError as exc:
        raise ContractError(f"invalid envelope: {exc.messages}") from exc
    spec = _event_type(env["type"])
    version, payload = env["version"], env["payload"]
    if version > spec.version:
        raise ContractError(f"{spec.name} version {version} is newer than this consumer knows")
    while version < spec.version:
        upcast = spec.upcasters.get(version)
        if upcast is None:
            raise ContractError(f"no upcaster for {spec.name} version {version}")
        payload, version = upcast(payload), version + 1
    try:
        payload = spec.schema().dump(spec.schema().load(payload))
    except ValidationError as exc:
        raise ContractError(f"invalid {spec.name} payload: {exc.messages}") from exc
    return Event(
        id=str(env["id"]),
        type=spec.name,
        version=spec.version,
        occurred_at=env["occurred_at"],
        source=env["source"],
        correlation_id=env["correlation_id"],
        causation_id=env["causation_id"],
        payload=payload,
    )
