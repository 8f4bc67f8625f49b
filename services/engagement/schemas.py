"""The messages the engagement service accepts and answers (the gateway imports them)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.engagement.domain.model import (
    CHANNELS,
    CHECKIN_STATES,
    END_REASONS,
    MODES,
    OPT_IN_METHODS,
    OUTCOMES,
)
from services.engagement.domain.schedule import zone_of
from services.kit import vocabulary as v
from services.kit.messages import StrictSchema

_HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
ON_CALL_ROLES = ("coordinator", "admin")


class ContactCreateRequest(StrictSchema):
    """A contact a mentor or coordinator had (or tried to have) with the participant."""

    contacted_at = v.Timestamp(required=True)
    mode = v.one_of(MODES, required=True)
    outcome = v.one_of(OUTCOMES, required=True, metadata={
        "description": "reached is a successful contact; the first one sets the time to first contact"})
    duration_minutes = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 1440))
    note = v.text(2000, load_default=None, allow_none=True, metadata={
        "description": "sealed; shown to the peer group that wrote it only"})


class ContactResult(StrictSchema):
    id = fields.String(required=True)
    referral_id = fields.String(required=True)
    contacted_at = v.Timestamp(required=True)
    mode = fields.String(required=True)
    outcome = fields.String(required=True)
    duration_minutes = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    recorded_by = fields.String(required=True)
    recorded_at = v.Timestamp(required=True)


class ContactWindowSchema(StrictSchema):
    start = fields.String(required=True, validate=validate.Regexp(_HH_MM, error="Use HH:MM."))
    end = fields.String(required=True, validate=validate.Regexp(_HH_MM, error="Use HH:MM."))
    timezone = fields.String(load_default="America/New_York", validate=validate.Length(max=64),
                             metadata={"description": "an IANA time zone, e.g. America/Chicago"})

    @validates_schema
    def _zone(self, data, **kwargs) -> None:
        try:
            zone_of(data.get("timezone") or "America/New_York")
        except ValueError as error:
            raise ValidationError("Unknown time zone.", "timezone") from error


class CheckinStartRequest(StrictSchema):
    """How the participant consented to automated check-ins: ``text_reply`` sends the first text
    and waits for YES (double opt-in); the others record a consent the mentor took."""

    method = v.one_of(OPT_IN_METHODS, required=True)
    channel = v.one_of(CHANNELS, load_default=None, allow_none=True, metadata={
        "description": "sms, or email (check-ins with a link to a one-question form); email needs "
                       "a recorded consent (not text_reply). Unnamed: sms when a phone number was "
                       "disclosed, email otherwise"})
    cadence_days = fields.Integer(load_default=7, validate=validate.Range(1, 60))
    contact_window = fields.Nested(ContactWindowSchema, load_default=None, allow_none=True)


class CheckinState(StrictSchema):
    status = v.one_of(CHECKIN_STATES, required=True)
    opt_in_method = fields.String(allow_none=True)
    channel = fields.String(required=True)
    cadence_days = fields.Integer(required=True)
    contact_window = fields.Nested(ContactWindowSchema, required=True)
    next_checkin_at = v.Timestamp(allow_none=True)


class AnswerResult(StrictSchema):
    id = fields.String(required=True)
    received_at = v.Timestamp(required=True)
    kind = fields.String(required=True)
    score = fields.Integer(allow_none=True)
    word = fields.String(allow_none=True)


class MessageResult(StrictSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    channel = fields.String(required=True)
    status = fields.String(required=True)
    sent_at = v.Timestamp(required=True)


class CrisisStep(StrictSchema):
    at = v.Timestamp(required=True)
    action = fields.String(required=True)
    step = fields.Integer(required=True)
    status = fields.String(allow_none=True)


class CrisisResult(StrictSchema):
    id = fields.String(required=True)
    referral_id = fields.String(required=True)
    signaled_at = v.Timestamp(required=True)
    step = fields.Integer(required=True)
    acknowledged_at = v.Timestamp(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    history = fields.List(fields.Nested(CrisisStep), required=True)


class AssessmentResult(StrictSchema):
    id = fields.String(required=True)
    due = fields.String(required=True, metadata={"description": "handoff, day30, day60 or day90"})
    due_at = v.Timestamp(required=True)
    sent_at = v.Timestamp(allow_none=True)
    completed_at = v.Timestamp(allow_none=True)
    total = fields.Integer(allow_none=True, metadata={"description": "BARC-10 total, 10-60"})
    belonging = fields.Integer(allow_none=True, metadata={"description": "1-6"})
    items = fields.List(fields.Integer(), allow_none=True, metadata={"description": "each item, 1-6"})


class AssessmentsResult(StrictSchema):
    items = fields.List(fields.Nested(AssessmentResult), required=True)
    trend = fields.Integer(allow_none=True, metadata={
        "description": "the total's change from the first completed questionnaire to the last"})


class AssessmentLinkQuery(StrictSchema):
    t = fields.String(required=True, validate=validate.Length(min=20, max=100),
                      metadata={"description": "the link's single-use token"})


class AssessmentForm(StrictSchema):
    """What the questionnaire's form shows: texts only, nothing about the person."""

    language = fields.String(required=True)
    direction = fields.String(required=True)
    title = fields.String(required=True)
    intro = fields.String(required=True)
    items = fields.List(fields.String(), required=True)
    belonging = fields.String(required=True)
    scale = fields.List(fields.String(), required=True)
    submit = fields.String(required=True)


class AssessmentDone(StrictSchema):
    language = fields.String(required=True)
    direction = fields.String(required=True)
    done = fields.String(required=True)


class CheckinForm(StrictSchema):
    """What a check-in email's form (or its stop page) shows: texts only, nothing about the person."""

    language = fields.String(required=True)
    direction = fields.String(required=True)
    title = fields.String(required=True)
    question = fields.String(required=True)
    low = fields.String()
    high = fields.String()
    word = fields.String()
    submit = fields.String(required=True)


class CheckinFormAnswer(StrictSchema):
    score = fields.Integer(validate=validate.Range(1, 5, error="Choose 1 to 5."))
    word = fields.String(validate=validate.Length(max=500))


class CheckinDone(StrictSchema):
    language = fields.String(required=True)
    direction = fields.String(required=True)
    done = fields.String(required=True)


class CheckinLinkQuery(StrictSchema):
    t = fields.String(required=True, validate=validate.Length(min=20, max=100),
                      metadata={"description": "the link's token"})


class EngagementResult(StrictSchema):
    """The peer group's view of its engagement with one participant (contact details never shown)."""

    referral_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("active", "ended")))
    ended_reason = fields.String(allow_none=True, validate=validate.OneOf(END_REASONS))
    language = fields.String(required=True)
    reachable_by = fields.List(fields.String(), required=True, metadata={
        "description": "the channels whose contact details were disclosed (sms, email)"})
    started_at = v.Timestamp(required=True)
    first_contact_at = v.Timestamp(allow_none=True)
    time_to_first_contact_seconds = fields.Integer(allow_none=True)
    last_contact_at = v.Timestamp(allow_none=True)
    last_answer_at = v.Timestamp(allow_none=True)
    silence_level = fields.Integer(required=True)
    checkins = fields.Nested(CheckinState, required=True)
    contacts = fields.List(fields.Nested(ContactResult), required=True)
    answers = fields.List(fields.Nested(AnswerResult), required=True)
    messages = fields.List(fields.Nested(MessageResult), required=True)
    crises = fields.List(fields.Nested(CrisisResult), required=True)
    assessments = fields.Nested(AssessmentsResult, required=True)


class OnCallEntry(StrictSchema):
    phone = v.phone(required=True)
    language = v.language(load_default="en")
    role = v.one_of(ON_CALL_ROLES, load_default="coordinator")


def supervisor_ref(**kwargs):
    """A mentor's supervisor as matching keeps it: a person id of the peer group or a name-free
    reference (the same rule as the mentor's ``supervisor`` field)."""
    return fields.String(validate=[
        validate.Length(min=1, max=64),
        validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                        error="A person id of the peer group or a reference, not a name.")], **kwargs)


class SupervisorEntry(StrictSchema):
    """How to reach a supervisor whom mentors name (matching's mentor ``supervisor``)."""

    ref = supervisor_ref(required=True, metadata={
        "description": "the value mentors carry as their supervisor"})
    phone = v.phone(required=True)
    language = v.language(load_default="en")


class EngagementSettingsRequest(StrictSchema):
    """How the peer group signs its texts, who is on call for crises, in order: coordinators
    first, the agency's admin last; and how to reach the mentors' supervisors."""

    sender_name = v.text(60, load_default=None, allow_none=True)
    on_call = fields.List(fields.Nested(OnCallEntry), required=True, validate=validate.Length(min=1, max=10))
    supervisors = fields.List(fields.Nested(SupervisorEntry), load_default=list,
                              validate=validate.Length(max=50), metadata={
        "description": "the second silence alert goes to the silent participant's mentor's supervisor"})

    @validates_schema
    def _unique_refs(self, data, **kwargs) -> None:
        refs = [entry["ref"] for entry in data.get("supervisors") or []]
        if len(refs) != len(set(refs)):
            raise ValidationError("Each supervisor once.", "supervisors")


class EngagementSettingsResult(StrictSchema):
    sender_name = fields.String(allow_none=True)
    on_call = fields.List(fields.Nested(OnCallEntry), required=True)
    supervisors = fields.List(fields.Nested(SupervisorEntry), required=True)
    updated_at = v.Timestamp(allow_none=True)


class IdSchema(StrictSchema):
    id = v.identifier(required=True)
