"""The events the engagement service publishes: ids and codes only, never a word a person wrote.

Registered through the ``referral_network.catalogs`` entry point ``engagement``.
"""

from __future__ import annotations

from marshmallow import fields, validate

from services.engagement.domain.model import MODES, OUTCOMES
from services.kit.contract import EventType, PayloadSchema


class ContactLoggedV1(PayloadSchema):
    referral_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    contact_id = fields.String(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    # True when this contact is the referral's first successful one (its time to first contact).
    first_contact = fields.Boolean(required=True)


class CheckinAnsweredV1(PayloadSchema):
    referral_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    answer_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("score", "word")))
    score = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 5))


class SilenceDetectedV1(PayloadSchema):
    referral_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    # 1: the mentor and coordinator are alerted; 2: the mentor's supervisor too.
    level = fields.Integer(required=True, validate=validate.OneOf((1, 2)))
    days = fields.Integer(required=True)
    # Level 2: the participant's mentor and the mentor's supervisor (a person id of the peer group
    # or a name-free reference), when known.
    mentor_id = fields.String(load_default=None, allow_none=True)
    supervisor = fields.String(load_default=None, allow_none=True)


class CrisisSignaledV1(PayloadSchema):
    referral_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    crisis_id = fields.String(required=True)
    # signaled, escalated (step 1, 2, ...) or acknowledged
    action = fields.String(required=True, validate=validate.OneOf(("signaled", "escalated", "acknowledged")))
    step = fields.Integer(required=True)


class AssessmentCompletedV1(PayloadSchema):
    referral_id = fields.String(required=True)
    agency_id = fields.String(required=True)
    assessment_id = fields.String(required=True)
    due = fields.String(required=True, validate=validate.OneOf(("handoff", "day30", "day60", "day90")))
    # BARC-10 total (10 items on a 1-6 agreement scale) and the belonging answer (1-6).
    total = fields.Integer(required=True, validate=validate.Range(10, 60))
    belonging = fields.Integer(required=True, validate=validate.Range(1, 6))


EVENT_TYPES = (
    EventType("engagement.contact_logged", 1, ContactLoggedV1),
    EventType("engagement.checkin_answered", 1, CheckinAnsweredV1),
    EventType("engagement.silence_detected", 1, SilenceDetectedV1),
    EventType("engagement.crisis_signaled", 1, CrisisSignaledV1),
    EventType("engagement.assessment_completed", 1, AssessmentCompletedV1),
)
