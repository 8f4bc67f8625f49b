"""The messages of consent: what the service and the HTTP API accept, and what they answer.

One definition serves both: the gateway validates ``/v1/consents`` and the audit routes and
renders their answers (and its OpenAPI document) with these classes; the service loads its
RPC arguments with them. A grant is read by the domain as well (``Consent.grant`` names every
missing element, with each recipient agency's kind added by the gateway); ``ConsentCreateRequest``
is the same request as clients send it. Error messages name fields, never the values sent.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.consent.domain import Consent
from services.consent.domain.commands import EXPORT_PAGE_LIMIT
from services.consent.domain.elements import EXPIRING_EVENTS, format_instant
from services.consent.domain.ledger import PERSONAL_KEYS
from services.consent.domain.rules import CONSENT_NOT_FOUND
from services.consent.domain.rules import REFUSAL_REASONS as REFUSAL_REASONS
from services.kit import vocabulary as v
from services.kit.messages import StrictSchema, page_of

CONSENT_STATUSES = ("active", "revoked", "expired")
# What a PHI read names (``handoff:<referral id>``): ids and separators, never free text.
ACCESS_WHAT = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$",
                              error="Must name what was read by kind and id, e.g. handoff:<id>.")
LEDGER_PAGE_LIMIT = 1000


def known_refusal(reason: str | None) -> str:
    """The refusal code a referrer is told and counted by: consent's own, or ``consent_not_found``
    when it names none the contract knows (the consent service already chose what may be told)."""
    return reason if reason in REFUSAL_REASONS else CONSENT_NOT_FOUND


def _names_anyone(recipients: dict) -> bool:
    return bool(recipients.get("agencies") or recipients.get("classes"))


class RecipientsRequest(StrictSchema):
    """Recipients by agency id and by agency class (e.g. every ``peer_group``)."""

    agencies = fields.List(v.identifier(), load_default=list)
    classes = v.many_of(v.AGENCY_KINDS, load_default=list)


class ParticipantSchema(StrictSchema):
    given_name = v.text(100, required=True)
    family_name = v.text(100, required=True)
    birth_date = fields.Date(required=True)
    phone = v.phone()
    email = v.email()
    preferred_language = v.language(required=True)


class SignatureSchema(StrictSchema):
    signed_by = v.one_of(v.SIGNERS, required=True)
    signer_name = v.text(200, required=True)
    # Required when a representative signs (guardian, health-care proxy...).
    authority = v.text(100, metadata={"description": "e.g. legal guardian, health-care proxy"})
    signed_at = fields.AwareDateTime(required=True)
    method = v.one_of(v.SIGNATURE_METHODS, required=True)

    @validates_schema
    def _representative_says_who(self, data: dict, **kwargs: object) -> None:
        if data["signed_by"] == "representative" and not data.get("authority"):
            raise ValidationError("Say how the representative relates to the participant.",
                                  field_name="authority")
        if data["signed_by"] == "participant" and data.get("authority"):
            raise ValidationError("Only a representative states an authority.", field_name="authority")


class ConsentCreateRequest(StrictSchema):
    """``POST /v1/consents``: every element of a Part 2 written consent, FHIR Consent shaped.

    A consent missing any element is refused naming each one, so every element is either
    required here or checked in ``_complete`` (which runs even when fields already failed).
    """

    participant = fields.Nested(ParticipantSchema, required=True)
    disclosers = fields.List(v.identifier(), required=True, validate=validate.Length(min=1, max=50))
    recipients = fields.Nested(RecipientsRequest, required=True)
    purposes = v.many_of(v.PURPOSES, required=True, validate=validate.Length(min=1))
    data_classes = v.many_of(v.DATA_CLASSES, required=True, validate=validate.Length(min=1))
    valid_from = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(metadata={"description": "or expires_on"})
    expires_on = v.one_of(EXPIRING_EVENTS, metadata={"description": "or valid_until"})
    signature = fields.Nested(SignatureSchema, required=True)
    include_later_members = fields.Boolean(metadata={
        "description": "a class of recipients also covers agencies admitted to the network after "
                       "the signature (default false: only those admitted by then)"})

    @validates_schema(skip_on_field_errors=False)
    def _complete(self, data: dict, **kwargs: object) -> None:
        errors: dict[str, list[str]] = {}
        until, event = data.get("valid_until"), data.get("expires_on")
        if until is None and event is None:
            errors["valid_until"] = ["Give valid_until or expires_on."]
        elif until is not None and event is not None:
            errors["expires_on"] = ["Give valid_until or expires_on, not both."]
        elif until is not None and data.get("valid_from") and until <= data["valid_from"]:
            errors["valid_until"] = ["Must be after valid_from."]
        recipients = data.get("recipients")
        if recipients is not None and not _names_anyone(recipients):
            errors["recipients"] = ["Name at least one recipient agency or class."]
        if errors:
            raise ValidationError(errors)


class RevokeRequest(StrictSchema):
    """``POST /v1/consents/{id}/revoke``."""

    reason = v.text(1000, required=True)
    recipients = fields.Nested(RecipientsRequest, load_default=None, allow_none=True, metadata={
        "description": "only these recipients lose access (partial revocation); omit for all"})

    @validates_schema
    def _names_someone(self, data: dict, **kwargs: object) -> None:
        recipients = data.get("recipients")
        if recipients is not None and not _names_anyone(recipients):
            raise ValidationError("Name the recipients to revoke, or omit recipients.",
                                  field_name="recipients")


class DecisionRequest(StrictSchema):
    """``authorize`` and ``disclose``: who gives what to whom, for what, about whom."""

    discloser = v.identifier(required=True)
    recipient = fields.Dict(required=True)  # {agency_id, kind} or {class}: the domain checks
    purpose = v.one_of(v.PURPOSES, required=True)
    data_classes = v.many_of(v.DATA_CLASSES, required=True, validate=validate.Length(min=1))
    participant_id = v.uuid_id(required=True)
    consent_id = v.uuid_id(load_default=None, allow_none=True)
    # The agency whose request this is: told a refusal's reason only if it holds the consent.
    asking = v.identifier(load_default=None, allow_none=True)
    # Who in the asking agency put the question: the ledger rows of the decision name them.
    acting = fields.String(load_default=None, allow_none=True,
                           validate=v.Whole(v.ACTOR_LABEL, error="Not an actor of this network."))


class AuthorizeRequest(DecisionRequest):
    """``authorize``: a decision, and on a permit the read it allows (``handoff:<id>``)."""

    read = fields.String(load_default=None, allow_none=True, validate=ACCESS_WHAT)


class CoverageRequest(DecisionRequest):
    """``covered_classes``: as a decision, about one named consent; nobody is told a refusal, so
    it takes no ``asking``."""

    consent_id = v.uuid_id(required=True)

    class Meta:
        exclude = ("asking", "acting")


class AccessRequest(StrictSchema):
    actor = v.identifier(required=True)
    participant_id = v.uuid_id(required=True)
    what = fields.String(required=True, validate=ACCESS_WHAT)
    acting = fields.String(load_default=None, allow_none=True,
                           validate=v.Whole(v.ACTOR_LABEL, error="Not an actor of this network."))


# The administrative changes other parts of the network ledger through ``record_change``.
CHANGE_ACTIONS = ("agency.created", "agency.deactivated", "agency.reactivated",
                  "key.created", "key.rotated", "key.revoked",
                  "smart_client.registered", "smart_client.revoked")


class ChangeRequest(StrictSchema):
    """A change to ledger: ids, kinds, roles and names of keys, never anything personal."""

    action = v.one_of(CHANGE_ACTIONS, required=True)
    subject = v.identifier(required=True)
    details = fields.Dict(keys=fields.String(validate=validate.Length(max=64)),
                          values=fields.Raw(), load_default=dict)

    @validates_schema
    def _nothing_personal(self, data: dict, **kwargs: object) -> None:
        # ``by`` is the service's to write: the caller's actor, not a claim in the request.
        refused = sorted((PERSONAL_KEYS | {"by"}) & set(data.get("details", {})))
        if refused:
            raise ValidationError([f"{key} does not belong in the ledger." for key in refused],
                                  field_name="details")


class DisclosureWindow(StrictSchema):
    """The ``disclosures`` RPC's optional window: at or after ``since``, before ``until``."""

    since = fields.AwareDateTime(load_default=None, allow_none=True)
    until = fields.AwareDateTime(load_default=None, allow_none=True)


class LedgerFilters(StrictSchema):
    """The ``GET /v1/audit/ledger`` query, and the ``ledger`` RPC's filters."""

    participant = v.uuid_id(load_default=None, allow_none=True)
    since = fields.AwareDateTime(load_default=None, allow_none=True)
    until = fields.AwareDateTime(load_default=None, allow_none=True,
                                 metadata={"description": "rows before this instant"})
    actor = fields.String(load_default=None, allow_none=True,
                          validate=v.Whole(v.ACTOR_LABEL, error="Not an actor of this network."),
                          metadata={"description": "key:<name>, person:<id> or smart:<client name>"})
    agency = v.identifier(load_default=None, allow_none=True,
                          metadata={"description": "the agency that acted"})
    action = fields.String(load_default=None, allow_none=True,
                           validate=validate.Regexp(r"^[a-z][a-z._-]{0,63}$", error="Not an action."))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=LEDGER_PAGE_LIMIT))
    # The ``next_page`` of the previous page: a cursor (the last seq it showed), opaque to callers.
    page = fields.String(load_default=None, allow_none=True,
                         validate=validate.Regexp(r"^[0-9]{1,12}$", error="Not a page of this ledger."),
                         metadata={"description": "the next_page value of the previous page"})


class LedgerExportRequest(StrictSchema):
    """The ``export_ledger`` RPC's page: after which seq, how many, up to which seq."""

    after_seq = fields.Integer(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=EXPORT_PAGE_LIMIT,
                           validate=validate.Range(min=1, max=EXPORT_PAGE_LIMIT))
    up_to = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))


class IdSchema(StrictSchema):
    """A consent id or a participant id: both are UUIDs the consent service handed out."""

    id = v.uuid_id(required=True)


# -- results --------------------------------------------------------------------------------------

class RecipientsView(Schema):
    agencies = fields.List(fields.String())
    classes = fields.List(fields.String())


class SignatureView(Schema):
    signed_by = fields.String()
    signed_at = v.Timestamp()
    method = fields.String()


class ConsentSchema(Schema):
    """A consent as its readers see it: terms, status and dates, no personal details."""

    id = fields.String(required=True)
    participant_id = fields.String(required=True)
    status = v.one_of(CONSENT_STATUSES, required=True)
    disclosers = fields.List(fields.String())
    attested_disclosers = fields.List(fields.String(), metadata={
        "description": "the disclosers the consent covers: the recording agency, and each other "
                       "discloser once it attested (POST /v1/consents/{id}/attestations)"})
    recipients = fields.Nested(RecipientsView)
    purposes = fields.List(fields.String())
    data_classes = fields.List(fields.String())
    valid_from = v.Timestamp()
    valid_until = v.Timestamp(allow_none=True)
    expires_on = fields.String(allow_none=True)
    signature = fields.Nested(SignatureView)
    created_at = v.Timestamp()
    revoked_at = v.Timestamp(allow_none=True)
    include_later_members = fields.Boolean()
    revoked = fields.Nested(RecipientsView, allow_none=True,
                            metadata={"description": "recipients taken off so far"})


class DisclosureSchema(Schema):
    at = v.Timestamp(required=True)
    discloser = fields.String(metadata={"description": "the agency that disclosed"})
    recipient = fields.String(required=True, metadata={"description": "recipient agency id"})
    purpose = fields.String(required=True)
    data_classes = fields.List(fields.String(), required=True)
    consent_id = fields.String(required=True)


DisclosurePageSchema = page_of(DisclosureSchema, "DisclosurePageSchema")


class LedgerEntrySchema(Schema):
    seq = fields.Integer(required=True)
    at = v.Timestamp(required=True)
    agency_id = fields.String(required=True, metadata={"description": "the agency that acted"})
    actor = fields.String(required=True, metadata={
        "description": "who acted: key:<name>, person:<id>, or the agency id for a service's act"})
    action = fields.String(required=True)
    subject = fields.String(required=True)
    permit = fields.Boolean(allow_none=True, metadata={"description": "decisions: the answer"})
    reason = fields.String(allow_none=True, metadata={"description": "decisions: why"})
    recipient = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    data_classes = fields.List(fields.String(), allow_none=True)
    asking = fields.String(allow_none=True, metadata={
        "description": "decisions and disclosures: the agency whose person or key asked, when it "
                       "is not the discloser (a peer group opening its handoff)"})
    hash = fields.String(required=True)


LedgerPageSchema = page_of(LedgerEntrySchema, "LedgerPageSchema")


class LedgerExportEntrySchema(Schema):
    """One line of ``GET /v1/audit/ledger/export``: an entry exactly as it was hashed."""

    seq = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"description": "UTC, fixed width, as hashed"})
    actor = fields.String(required=True)
    action = fields.String(required=True)
    subject = fields.String(required=True)
    participant_id = fields.String(allow_none=True)
    details = fields.Dict(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class LedgerVerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    entries = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)
    kind = fields.String(allow_none=True, metadata={
        "description": "altered, deleted, inserted, reordered, truncated, rewritten, forged_checkpoint"})
    checkpointed = fields.Integer(metadata={
        "description": "background verifications: rows the signed checkpoints cover; later rows "
                       "rest on the hash chain alone"})


class LedgerVerificationJobSchema(Schema):
    """A verification of the ledger run in the background, as ``start_verification`` and
    ``verification`` answer it."""

    id = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "running, done or abandoned"})
    started_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    finished_at = fields.String(allow_none=True)
    checked = fields.Integer(required=True, metadata={"description": "rows verified so far"})
    result = fields.Nested(LedgerVerificationSchema, allow_none=True,
                           metadata={"description": "once done: as GET /v1/audit/verify answers"})


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
        "attested_disclosers": [d for d in consent.disclosers if d in consent.attested],
        "recipients": recipients,
        "revoked": revoked,
        "include_later_members": consent.include_later_members,
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
