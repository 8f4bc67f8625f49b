"""The events the referrals service publishes: their payload schemas and versions.

Registered through the ``referral_network.catalogs`` entry point ``referrals``. Payloads
carry ids and matching criteria only; a clinician's words stay in referrals.
"""

from __future__ import annotations

from marshmallow import fields, validate

from services.consent.catalog import RecipientsSchema
from services.consent.schemas import REFUSAL_REASONS
from services.kit import vocabulary as v
from services.kit.contract import EventType, PayloadSchema


class LocationSchema(PayloadSchema):
    # Coarse: rounded to two decimals (about a kilometre) before it leaves referrals.
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class CriteriaV1Schema(PayloadSchema):
    languages = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    mentor_gender = fields.String(load_default=None, allow_none=True)
    mentor_gender_required = fields.Boolean(load_default=False)
    pathways = fields.List(fields.String(validate=validate.OneOf(v.PATHWAYS)), load_default=list)
    lived_experience = fields.List(fields.String(), load_default=list)
    age_band = fields.Integer(load_default=None, allow_none=True)  # lower bound of a 5-year band
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    remote_ok = fields.Boolean(load_default=True)
    availability = fields.List(fields.String(validate=validate.OneOf(v.SLOTS)), load_default=list)


class CriteriaSchema(CriteriaV1Schema):
    """Version 2: lived experience as codes, and whether what reveals substance use was shared."""

    lived_experience = fields.List(fields.String(validate=validate.OneOf(v.LIVED_EXPERIENCE)),
                                   load_default=list)
    # False: the consent does not cover substance-use for the network, so lived experience and
    # the medication-assisted pathway were left out (and matching says so in its explanation).
    substance_use_shared = fields.Boolean(required=True)


class AllowedPeerGroupsSchema(RecipientsSchema):
    # Agencies revoked by name: off limits even where a class (peer_group) still covers them.
    excluded = fields.List(fields.String(), load_default=list)


class ReferralRequestedV1(PayloadSchema):
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    consent_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    # Peer groups the consent covers: these agencies, plus every agency of these classes.
    allowed = fields.Nested(AllowedPeerGroupsSchema, required=True)
    criteria = fields.Nested(CriteriaV1Schema, required=True)


class ReferralRequestedV2(ReferralRequestedV1):
    criteria = fields.Nested(CriteriaSchema, required=True)


def requested_v1_to_v2(payload: dict) -> dict:
    """A v1 request carried every criterion it had (lived experience as words): read the words
    as codes (``vocabulary.lived_experience_codes``) and mark substance use as shared."""
    criteria = dict(payload["criteria"])
    criteria["lived_experience"] = v.lived_experience_codes(criteria.get("lived_experience"))
    criteria["substance_use_shared"] = True
    return {**payload, "criteria": criteria}


class ReferralStatusChangedV1(PayloadSchema):
    referral_id = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    assigned_agency_id = fields.String(load_default=None, allow_none=True)
    participant_id = fields.String(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    from_status = fields.String(required=True, validate=validate.OneOf(v.REFERRAL_STATUSES))
    to_status = fields.String(required=True, validate=validate.OneOf(v.REFERRAL_STATUSES))
    # A machine code (e.g. "consent_revoked", "stated"); the words a person wrote stay in referrals.
    reason_code = fields.String(load_default=None, allow_none=True)


class ReferralRefusedV1(PayloadSchema):
    """Consent refused a referral as it was made: nothing was stored and no referral id exists.

    Ids and codes only, for counting refusals by reason (the outcomes service); the reason and
    needs the referrer wrote never leave referrals, and neither does any other criterion.
    """

    referrer_agency_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    consent_id = fields.String(required=True)
    # The refusal code consent gave the referrer (what the API's problem calls ``reason``).
    reason_code = fields.String(required=True, validate=validate.OneOf(REFUSAL_REASONS))
    urgency = fields.String(required=True, validate=validate.OneOf(v.URGENCIES))
    # The first language the request named, as ``referral.requested``'s criteria carry it.
    language = v.language(load_default=None, allow_none=True)


EVENT_TYPES = (
    EventType("referral.requested", 2, ReferralRequestedV2, {1: requested_v1_to_v2}),
    EventType("referral.status_changed", 1, ReferralStatusChangedV1),
    EventType("referral.refused", 1, ReferralRefusedV1),
)
