"""The RPC messages the consent service accepts, and the consent as callers see it (docs/rpc.md).

The grant request itself is read by the domain (``Consent.grant`` names every missing element);
here are the caller, the other requests, and ``consent_view``. Error messages name fields,
never the values sent.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from services.consent.domain import Consent
from services.consent.domain.elements import format_instant
from services.kit import vocabulary as v

ID = validate.Length(min=1, max=64)
# What a PHI read names (``handoff:<referral id>``): ids and separators, never free text.
ACCESS_WHAT = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$",
                              error="Must name what was read by kind and id, e.g. handoff:<id>.")
LEDGER_PAGE_LIMIT = 1000


class RecipientsSchema(Schema):
    class Meta:
        unknown = RAISE

    agencies = fields.List(fields.Raw(), load_default=list)  # ids, or {id, kind}: the domain checks
    classes = fields.List(fields.String(), load_default=list)


class RevokeRequest(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    recipients = fields.Nested(RecipientsSchema, load_default=None, allow_none=True)


class DecisionRequest(Schema):
    """``authorize`` and ``disclose``: who gives what to whom, for what, about whom."""

    discloser = fields.String(required=True, validate=ID)
    recipient = fields.Dict(required=True)  # {agency_id, kind} or {class}: the domain checks
    purpose = fields.String(required=True, validate=validate.OneOf(v.PURPOSES))
    data_classes = fields.List(fields.String(validate=validate.OneOf(v.DATA_CLASSES)),
                               required=True, validate=validate.Length(min=1))
    participant_id = fields.String(required=True, validate=ID)
    consent_id = fields.String(load_default=None, allow_none=True, validate=ID)


class AccessRequest(Schema):
    actor = fields.String(required=True, validate=ID)
    participant_id = fields.String(required=True, validate=ID)
    what = fields.String(required=True, validate=ACCESS_WHAT)


class LedgerFilters(Schema):
    class Meta:
        unknown = RAISE

    participant = fields.String(load_default=None, allow_none=True, validate=ID)
    since = fields.AwareDateTime(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=LEDGER_PAGE_LIMIT))
    # The ``next_page`` of the previous page: a cursor (the last seq it showed), opaque to callers.
    page = fields.String(load_default=None, allow_none=True,
                         validate=validate.Regexp(r"^[0-9]{1,12}$", error="Not a page of this ledger."))


class IdSchema(Schema):
    id = fields.String(required=True, validate=ID)


def consent_view(consent: Consent, holder: str) -> dict[str, Any]:
    """The consent as its readers see it: terms, status and dates, no personal details."""
    recipients, revoked = consent.recipients.as_ids(), consent.revoked.as_ids()
    return {
        "id": consent.id,
        "participant_id": consent.participant_id,
        "status": consent.status,
        "version": consent.version,
        "holder": holder,
        "disclosers": list(consent.disclosers),
        "recipients": recipients,
        "revoked": revoked,
        "purposes": list(consent.purposes),
        "data_classes": list(consent.data_classes),
        "valid_from": format_instant(consent.valid_from),
        "valid_until": format_instant(consent.valid_until),
        "expires_on": consent.expires_on,
        "signature": {
            "signed_by": consent.signature.signed_by,
            "signed_at": format_instant(consent.signature.signed_at),
            "method": consent.signature.method,
        },
        "revocation_statement": consent.revocation_statement,
        "granted_at": format_instant(consent.granted_at),
        "created_at": format_instant(consent.granted_at),  # the HTTP API's name for granted_at
        "revoked_at": format_instant(consent.revoked_at),
        "expired_at": format_instant(consent.expired_at),
    }
