"""The messages of referrals: what the service and ``/v1/referrals`` accept, and what they answer.

One definition serves both: the gateway validates HTTP bodies and renders responses (and its
OpenAPI document) with these classes, and the service validates the same body again, because
it trusts no caller. Requests are strict (an unknown field is an error); ``load`` turns
marshmallow's errors into ``InvalidRequest`` with dotted field names and never echoes values.
Responses are dumped through these schemas too, so only the fields declared here leave.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kit import vocabulary as v
from services.kit.messages import StrictSchema, page_of
from services.matching.catalog import ExplanationItemSchema

# What the assigned peer group reports; accepting and cancelling happen elsewhere.
REPORTED_STATUSES = ("in-progress", "on-hold", "completed", "failed")


class NeedsSchema(StrictSchema):
    languages = v.languages(required=True)
    mentor_gender = v.one_of(v.GENDERS, allow_none=True)
    mentor_gender_required = fields.Boolean(load_default=False)
    pathways = v.many_of(v.PATHWAYS, load_default=list)
    lived_experience = v.lived_experience(load_default=list)
    age = fields.Integer(validate=validate.Range(min=0, max=120), allow_none=True)
    location = v.location(allow_none=True)
    remote_ok = fields.Boolean(load_default=True)
    availability = v.slots(load_default=list)


# The referrer's own identifier: printable, no spaces at either end, no "|" (it separates system
# and value in a FHIR token search). Unique per referrer and system.
EXTERNAL_ID = validate.Regexp(r"^[!-{}~](?:[ -{}~]{0,198}[!-{}~])?$",
                              error="Printable characters, no \"|\", no spaces at either end; at most 200.")
EXTERNAL_SYSTEM = validate.Regexp(r"^[!-{}~]{1,255}$",
                                  error="A URI without spaces or \"|\"; at most 255 characters.")


def external_id(**kwargs) -> fields.String:
    return fields.String(validate=EXTERNAL_ID, metadata={
        "description": "the referrer's own identifier for this referral (its order or case number), "
                       "unique per referrer and system; shown to the referrer only"}, **kwargs)


def external_id_system(**kwargs) -> fields.String:
    return fields.String(validate=EXTERNAL_SYSTEM, metadata={
        "description": "the namespace of external_id (a FHIR Identifier.system), e.g. "
                       "https://hospital.example/orders"}, **kwargs)


class ReferralCreateRequest(StrictSchema):
    """``POST /v1/referrals``."""

    participant_id = v.uuid_id(required=True)
    consent_id = v.uuid_id(required=True)
    reason = v.text(2000, required=True)
    urgency = v.one_of(v.URGENCIES, load_default="routine")
    needs = fields.Nested(NeedsSchema, required=True)
    external_id = external_id(load_default=None, allow_none=True)
    external_id_system = external_id_system(load_default=None, allow_none=True)

    @validates_schema
    def _system_names_an_id(self, data: dict, **kwargs: object) -> None:
        if data.get("external_id_system") and not data.get("external_id"):
            raise ValidationError({"external_id": ["Give external_id with external_id_system."]})


REASON_CODE_DESCRIPTION = ("why, as a code every party to the referral sees; words alone read as "
                           "\"other\"")
REASON_TEXT_DESCRIPTION = "the agency's own words: stored encrypted, shown to this agency only"


class ReferralCancelRequest(StrictSchema):
    """A reason code, the agency's words, or both."""

    reason_code = v.status_reason(allow_none=True, load_default=None,
                                  metadata={"description": REASON_CODE_DESCRIPTION})
    reason = v.text(1000, allow_none=True, load_default=None,
                    metadata={"description": REASON_TEXT_DESCRIPTION})

    @validates_schema
    def _some_reason(self, data: dict, **kwargs: object) -> None:
        require_reason(data)


class ReferralStatusRequest(StrictSchema):
    status = v.one_of(REPORTED_STATUSES, required=True)
    reason_code = v.status_reason(allow_none=True, load_default=None, metadata={
        "description": REASON_CODE_DESCRIPTION + "; a code or words are required for on-hold, failed"})
    reason = v.text(1000, allow_none=True, load_default=None,
                    metadata={"description": REASON_TEXT_DESCRIPTION})

    @validates_schema
    def _some_reason(self, data: dict, **kwargs: object) -> None:
        if data.get("status") in ("on-hold", "failed"):
            require_reason(data)


def require_reason(data: dict) -> None:
    """Raises ``ValidationError`` on ``reason_code`` when neither a code nor words were given."""
    if data.get("reason_code") is None and data.get("reason") is None:
        raise ValidationError({"reason_code": [
            f"Say why: one of {', '.join(v.STATUS_REASONS)}, and/or a reason in your words."]})


class ReferralListQuery(StrictSchema):
    """``GET /v1/referrals``: every filter narrows the agency's own or assigned referrals."""

    status = v.one_of(v.REFERRAL_STATUSES, allow_none=True, load_default=None)
    page = v.page(allow_none=True, load_default=None)
    external_id = external_id(allow_none=True)
    external_id_system = external_id_system(allow_none=True)
    participant_id = v.uuid_id(allow_none=True)
    referrer_agency_id = v.identifier(allow_none=True,
                                      metadata={"description": "the agency that referred"})
    assigned_agency_id = v.identifier(allow_none=True,
                                      metadata={"description": "the peer group assigned"})
    created_after = fields.AwareDateTime(allow_none=True)
    created_before = fields.AwareDateTime(allow_none=True)
    updated_after = fields.AwareDateTime(allow_none=True, metadata={
        "description": "changed after this instant: poll with the newest updated_at seen"})
    updated_before = fields.AwareDateTime(allow_none=True)
    limit = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=100),
                           metadata={"description": "referrals per page (default 50)"})


class ReferralIdSchema(StrictSchema):
    referral_id = v.identifier(required=True)


# -- results ------------------------------------------------------------------------------------

class HistoryEntryResult(Schema):
    status = fields.String(required=True)
    at = v.Timestamp(required=True)
    by = fields.String(required=True, metadata={"description": "agency id, or \"network\""})
    reason = fields.String(allow_none=True, metadata={
        "description": "the words of the agency that made this move: shown to that agency only"})
    reason_code = fields.String(allow_none=True, metadata={
        "description": "a status reason code, or a code of the network's own (consent_revoked, ...)"})


class ReferralMatchResult(Schema):
    id = fields.String(required=True)
    status = v.one_of(v.MATCH_STATUSES, metadata={"description": "the match's state in matching"})
    mentor_id = fields.String(required=True)
    mentor_agency_id = fields.String(required=True)
    score = fields.Float()
    explanation = fields.List(fields.Nested(ExplanationItemSchema))
    reason_code = fields.String(allow_none=True, metadata={
        "description": "why the match was declined (a status reason code), expired or withdrawn"})


class ReferralResult(Schema):
    id = fields.String(required=True)
    status = v.one_of(v.REFERRAL_STATUSES, required=True)
    urgency = fields.String(required=True)
    referrer_agency_id = fields.String(required=True)
    assigned_agency_id = fields.String(allow_none=True)
    participant_id = fields.String(required=True)
    consent_id = fields.String(required=True)
    external_id = fields.String(allow_none=True, metadata={"description": "referrer only"})
    external_id_system = fields.String(allow_none=True, metadata={"description": "referrer only"})
    created_at = v.Timestamp(allow_none=True)
    updated_at = v.Timestamp(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntryResult), required=True)
    match = fields.Nested(ReferralMatchResult, allow_none=True)
    waitlisted = fields.Boolean(metadata={"description": "no fitting mentor yet; matching keeps trying"})
    handoff_available = fields.Boolean()
    reason = fields.String(metadata={"description": "shown to the referring agency only"})
    needs = fields.Nested(NeedsSchema, metadata={"description": "referring agency only"})
    integrity = fields.String(validate=validate.OneOf(["unreadable"]), metadata={
        "description": "present only on a listed referral whose encrypted fields failed their integrity "
                       "check: the row shows its plain columns, no reason, needs or history"})


ReferralPageResult = page_of(ReferralResult, "ReferralPageResult")


class HandoffParticipant(Schema):
    """The participant details consent disclosed: only the data classes consented to."""

    given_name = fields.String()
    family_name = fields.String()
    birth_date = v.CalendarDate()
    phone = fields.String()
    email = fields.String()
    preferred_language = fields.String()


class SummaryAgency(Schema):
    """An agency a consent names, as registered when the consent was recorded."""

    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "for recipients"})


class SummaryRecipients(Schema):
    agencies = fields.List(fields.Nested(SummaryAgency), metadata={"description": "by name"})
    classes = fields.List(fields.String(), metadata={"description": "by class, e.g. peer_group"})


class ConsentPeriod(Schema):
    start = v.Timestamp(required=True)
    end = v.Timestamp(allow_none=True, metadata={"description": "the consent ends then at the latest"})
    ends_with = fields.String(allow_none=True, metadata={"description": "an expiring event, e.g. "
                                                                        "end-of-treatment"})


class HandoffConsent(Schema):
    """What a handoff says about the consent it was disclosed under: the scope the recipient
    must respect (42 CFR 2.32)."""

    id = fields.String(required=True)
    disclosers = fields.List(fields.Nested(SummaryAgency), metadata={"description": "who may disclose"})
    recipients = fields.Nested(SummaryRecipients)
    period = fields.Nested(ConsentPeriod)
    purposes = fields.List(fields.String())
    data_classes = fields.List(fields.String())
    valid_from = v.Timestamp()
    valid_until = v.Timestamp(allow_none=True)
    expires_on = fields.String(allow_none=True)
    revocation = fields.String(metadata={"description": "how the participant may revoke"})


class HandoffResult(Schema):
    """Participant details disclosed to the assigned peer group: a recorded disclosure."""

    referral_id = fields.String(required=True)
    participant = fields.Nested(HandoffParticipant, required=True,
                                metadata={"description": "only the data classes consented to"})
    reason = fields.String(metadata={"description": "when referral-reason is consented to"})
    needs = fields.Nested(NeedsSchema, metadata={
        "description": "when referral-reason is consented to; lived experience and the "
                       "medication-assisted pathway only when substance-use is too"})
    data_classes = fields.List(fields.String(), metadata={"description": "the classes disclosed"})
    consent = fields.Nested(HandoffConsent, required=True)
    redisclosure_notice = fields.String(required=True)
    disclosed_at = v.Timestamp()
