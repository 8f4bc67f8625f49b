"""marshmallow schemas for every request body, query and response of the HTTP API (docs/api.md).

The same classes validate requests and generate ``/openapi.json``. Load request bodies with
``Schema().load(body)``; a ``ValidationError`` renders as 422 with the field errors.
"""

from gateway.schemas.agencies import AgencyCreatedSchema, AgencyCreateRequest, AgencySchema
from gateway.schemas.audit import (
    DisclosurePageSchema,
    DisclosureSchema,
    LedgerEntrySchema,
    LedgerPageSchema,
    LedgerQuery,
    LedgerVerificationSchema,
)
from gateway.schemas.common import (
    HealthSchema,
    LocationSchema,
    PageQuery,
    ProblemSchema,
    ReadinessSchema,
    RecipientsSchema,
)
from gateway.schemas.consents import (
    ConsentCreateRequest,
    ConsentRevokeRequest,
    ConsentSchema,
    ParticipantSchema,
    SignatureSchema,
)
from gateway.schemas.matches import (
    ExplanationItemSchema,
    MatchDeclineRequest,
    MatchListQuery,
    MatchPageSchema,
    MatchSchema,
    MentorCreateRequest,
    MentorListQuery,
    MentorPageSchema,
    MentorPatchRequest,
    MentorSchema,
)
from gateway.schemas.notifications import (
    NotificationListQuery,
    NotificationPageSchema,
    NotificationSchema,
    NotificationSettingsRequest,
    NotificationSettingsSchema,
)
from gateway.schemas.referrals import (
    HandoffSchema,
    NeedsSchema,
    ReferralCancelRequest,
    ReferralCreateRequest,
    ReferralListQuery,
    ReferralPageSchema,
    ReferralSchema,
    ReferralStatusRequest,
)

__all__ = [
    "AgencyCreateRequest", "AgencyCreatedSchema", "AgencySchema",
    "ConsentCreateRequest", "ConsentRevokeRequest", "ConsentSchema", "ParticipantSchema",
    "SignatureSchema", "RecipientsSchema", "LocationSchema",
    "ReferralCreateRequest", "ReferralCancelRequest", "ReferralStatusRequest",
    "ReferralListQuery", "ReferralSchema", "ReferralPageSchema", "NeedsSchema", "HandoffSchema",
    "MentorCreateRequest", "MentorPatchRequest", "MentorListQuery", "MentorSchema",
    "MentorPageSchema", "MatchListQuery", "MatchDeclineRequest", "MatchSchema", "MatchPageSchema",
    "ExplanationItemSchema",
    "NotificationSettingsRequest", "NotificationSettingsSchema", "NotificationSchema",
    "NotificationPageSchema", "NotificationListQuery",
    "DisclosureSchema", "DisclosurePageSchema", "LedgerQuery", "LedgerEntrySchema",
    "LedgerPageSchema", "LedgerVerificationSchema",
    "PageQuery", "ProblemSchema", "HealthSchema", "ReadinessSchema",
]
