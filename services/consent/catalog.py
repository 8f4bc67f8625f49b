"""The events the consent service publishes: their payload schemas and versions.

Registered through the ``referral_network.catalogs`` entry point ``consent``; the kit's
contract validates every ``consent.*`` event against these. Ids only, never a name.
"""

from __future__ import annotations

from marshmallow import fields, validate

from services.kit import vocabulary as v
from services.kit.contract import EventType, PayloadSchema


class RecipientsSchema(PayloadSchema):
    agencies = fields.List(fields.String(), load_default=list)
    classes = fields.List(fields.String(validate=validate.OneOf(v.AGENCY_KINDS)), load_default=list)


class ConsentGrantedV1(PayloadSchema):
    consent_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    disclosers = fields.List(fields.String(), required=True)
    recipients = fields.Nested(RecipientsSchema, required=True)
    purposes = fields.List(fields.String(validate=validate.OneOf(v.PURPOSES)), required=True)
    data_classes = fields.List(fields.String(validate=validate.OneOf(v.DATA_CLASSES)), required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(load_default=None, allow_none=True)
    expires_on = fields.String(load_default=None, allow_none=True)


class ConsentRevokedV1(PayloadSchema):
    consent_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    # What was taken off; the consent stays in force for ``remaining`` unless ``full``.
    revoked = fields.Nested(RecipientsSchema, required=True)
    remaining = fields.Nested(RecipientsSchema, required=True)
    full = fields.Boolean(required=True)


class ConsentExpiredV1(PayloadSchema):
    consent_id = fields.String(required=True)
    participant_id = fields.String(required=True)


EVENT_TYPES = (
    EventType("consent.granted", 1, ConsentGrantedV1),
    EventType("consent.revoked", 1, ConsentRevokedV1),
    EventType("consent.expired", 1, ConsentExpiredV1),
)
