"""Accounting of disclosures and the hash-chained audit ledger (admin)."""

from __future__ import annotations

from marshmallow import fields

from gateway.schemas.common import PageQuery, PageSchema, ResponseSchema, Timestamp, object_id


class DisclosureSchema(ResponseSchema):
    at = Timestamp(required=True)
    recipient = fields.String(required=True, metadata={"description": "recipient agency id"})
    purpose = fields.String(required=True)
    data_classes = fields.List(fields.String(), required=True)
    consent_id = fields.String(required=True)


class DisclosurePageSchema(PageSchema):
    items = fields.List(fields.Nested(DisclosureSchema), required=True)


class LedgerQuery(PageQuery):
    participant = object_id()
    since = fields.AwareDateTime()


class LedgerEntrySchema(ResponseSchema):
    seq = fields.Integer(required=True)
    at = Timestamp(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    subject = fields.String(required=True)
    hash = fields.String(required=True)


class LedgerPageSchema(PageSchema):
    items = fields.List(fields.Nested(LedgerEntrySchema), required=True)


class LedgerVerificationSchema(ResponseSchema):
    ok = fields.Boolean(required=True)
    entries = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)
