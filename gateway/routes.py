"""Every HTTP route of API v1 with the schemas it speaks: the table ``openapi`` documents.

The schemas are the owning services' own (``services.<name>.schemas``), so the gateway checks
a request, and renders an answer, exactly as the service that serves it does.

``operation`` names the route everywhere: here, in ``policy.ROUTE_ROLES`` and as the OpenAPI
``operationId``. ``url_rule`` gives the werkzeug form for nameko's ``@http``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from marshmallow import Schema

from gateway import people_schemas as people
from gateway import schemas as g
from gateway import smart_schemas as smart
from services.consent import schemas as consent
from services.engagement import schemas as engagement
from services.matching import schemas as matching
from services.notifications import schemas as notifications
from services.outcomes import schemas as outcomes
from services.referrals import schemas as referrals

_PATH_PARAM = re.compile(r"{(\w+)}")
NDJSON = "application/x-ndjson"
PEM = "application/x-pem-file"
FORM = "application/x-www-form-urlencoded"
CSV = "text/csv"


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    path: str  # OpenAPI template, e.g. "/v1/referrals/{id}"
    summary: str
    tag: str
    status: int = 200
    request: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    creates: bool = False  # takes an Idempotency-Key
    conflicts: bool = False  # may answer 409 when the object's state does not allow it
    # Public, but checks a person's credentials itself: may answer 401 ``sign_in_refused``.
    checks_credentials: bool = False
    # Non-problem bodies for error statuses (e.g. /ready names the services that are down).
    other_responses: tuple[tuple[int, type[Schema]], ...] = ()
    # What a success answers when it is not one JSON document (a PEM file, JSON lines).
    media_type: str = "application/json"
    # How the request body is sent, when it is not JSON (the OAuth token endpoint's form).
    request_media_type: str = "application/json"
    # Other representations of a success the client may ask for with Accept (a report as CSV).
    alternatives: tuple[str, ...] = ()
    # Error statuses a route answers beyond those its shape implies: problem+json ones, and ones
    # answered as a page of ``media_type`` (the questionnaire's form says "expired" as HTML).
    problems: tuple[int, ...] = ()
    page_errors: tuple[int, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    @property
    def url_rule(self) -> str:
        """The werkzeug rule: ``/v1/referrals/<string:id>``."""
        return _PATH_PARAM.sub(r"<string:\1>", self.path)


ROUTES: tuple[Route, ...] = (
    Route("create_agency", "POST", "/v1/agencies", "Register an agency and issue its API key",
          "agencies", 201, g.AgencyCreateRequest, response=g.AgencyCreatedSchema, creates=True),
    Route("list_agencies", "GET", "/v1/agencies",
          "The agency directory (with status and roles for the operator)", "agencies",
          query=g.PageQuery, response=g.AgencyPageSchema),
    Route("deactivate_agency", "POST", "/v1/agencies/{id}/deactivate",
          "Deactivate an agency: its keys are refused at once", "agencies",
          response=g.AgencyDirectorySchema, conflicts=True),
    Route("reactivate_agency", "POST", "/v1/agencies/{id}/reactivate",
          "Reactivate a deactivated agency", "agencies", response=g.AgencyDirectorySchema),
    Route("list_keys", "GET", "/v1/agencies/{id}/keys", "The agency's machine keys", "keys",
          query=g.PageQuery, response=g.KeyPageSchema),
    Route("create_key", "POST", "/v1/agencies/{id}/keys",
          "Issue a named machine key (its secret is shown once)", "keys", 201,
          g.KeyCreateRequest, response=g.KeyIssuedSchema, conflicts=True),
    Route("rotate_key", "POST", "/v1/agencies/{id}/keys/{key_id}/rotate",
          "Replace a key; the old one keeps working for the overlap", "keys", 201,
          g.KeyRotateRequest, response=g.KeyIssuedSchema, conflicts=True),
    Route("revoke_key", "POST", "/v1/agencies/{id}/keys/{key_id}/revoke",
          "Revoke a key at once", "keys", response=g.KeySchema),
    Route("list_smart_clients", "GET", "/v1/agencies/{id}/smart-clients",
          "The agency's SMART back-end clients", "smart", query=g.PageQuery,
          response=smart.SmartClientPageSchema),
    Route("register_smart_client", "POST", "/v1/agencies/{id}/smart-clients",
          "Register a SMART back-end client with its public keys and the scopes it may be granted",
          "smart", 201, smart.SmartClientCreateRequest, response=smart.SmartClientSchema, conflicts=True),
    Route("revoke_smart_client", "POST", "/v1/agencies/{id}/smart-clients/{client_id}/revoke",
          "Revoke a SMART back-end client: its access tokens are refused at once", "smart",
          response=smart.SmartClientSchema),
    Route("smart_token", "POST", "/fhir/auth/token",
          "Trade a SMART Backend Services client assertion for an access token (OAuth 2.0 "
          "client_credentials, RFC 7523)", "smart", request=smart.TokenRequestForm,
          response=smart.AccessTokenSchema, request_media_type=FORM, checks_credentials=True,
          other_responses=((400, smart.OAuthErrorSchema), (401, smart.OAuthErrorSchema))),
    Route("invite_person", "POST", "/v1/agencies/{id}/people",
          "Invite a person to the caller's agency (the invitation token is shown once)", "people", 201,
          people.PersonInviteRequest, response=people.PersonInvitedSchema, conflicts=True),
    Route("list_people", "GET", "/v1/agencies/{id}/people", "List the people of the caller's agency",
          "people", query=people.PeopleListQuery, response=people.PersonPageSchema),
    Route("update_person", "PATCH", "/v1/agencies/{id}/people/{person_id}",
          "Change a person's roles, deactivate or reactivate them", "people",
          request=people.PersonPatchRequest, response=people.PersonSchema, conflicts=True),
    Route("reinvite_person", "POST", "/v1/agencies/{id}/people/{person_id}/invitation",
          "Invite again someone who has not finished enrolling (the new token is shown once)", "people",
          201, response=people.PersonInvitedSchema, conflicts=True),
    Route("accept_invitation", "POST", "/v1/sessions/accept-invitation",
          "Set a password with an invitation and receive a TOTP secret to enrol", "sessions",
          request=people.AcceptInvitationRequest, response=people.EnrolmentSchema,
          checks_credentials=True),
    Route("confirm_totp", "POST", "/v1/sessions/totp",
          "Finish enrolling with the password and a first TOTP code", "sessions",
          request=people.SignInRequest, response=people.PersonSchema, checks_credentials=True),
    Route("sign_in", "POST", "/v1/sessions", "Sign a person in with password and TOTP code",
          "sessions", 201, people.SignInRequest, response=people.SessionCreatedSchema,
          checks_credentials=True),
    Route("get_session", "GET", "/v1/sessions/current", "The signed-in person and when the session ends",
          "sessions", response=people.SessionSchema),
    Route("sign_out", "DELETE", "/v1/sessions/current", "Sign out: end this session", "sessions", 204),
    Route("grant_consent", "POST", "/v1/consents", "Record a participant's written consent",
          "consents", 201, consent.ConsentCreateRequest, response=consent.ConsentSchema, creates=True),
    Route("get_consent", "GET", "/v1/consents/{id}", "Read a consent", "consents",
          response=consent.ConsentSchema),
    Route("revoke_consent", "POST", "/v1/consents/{id}/revoke",
          "Revoke a consent, wholly or for some recipients", "consents",
          request=consent.RevokeRequest, response=consent.ConsentSchema, conflicts=True),
    Route("attest_consent", "POST", "/v1/consents/{id}/attestations",
          "Confirm, as a discloser the consent names, that you disclose under it", "consents",
          response=consent.ConsentSchema, conflicts=True),
    Route("end_treatment", "POST", "/v1/consents/{id}/end-of-treatment",
          "Treatment ended: a consent lasting until then ends now", "consents",
          response=consent.ConsentSchema, conflicts=True),
    Route("create_referral", "POST", "/v1/referrals", "Refer a consenting participant",
          "referrals", 201, referrals.ReferralCreateRequest, response=referrals.ReferralResult, creates=True),
    Route("list_referrals", "GET", "/v1/referrals", "List own or assigned referrals",
          "referrals", query=referrals.ReferralListQuery, response=referrals.ReferralPageResult),
    Route("get_referral", "GET", "/v1/referrals/{id}", "Read a referral and its history",
          "referrals", response=referrals.ReferralResult),
    Route("cancel_referral", "POST", "/v1/referrals/{id}/cancel", "Cancel a referral",
          "referrals", request=referrals.ReferralCancelRequest, response=referrals.ReferralResult,
          conflicts=True),
    Route("report_referral_status", "POST", "/v1/referrals/{id}/status",
          "Report progress on an assigned referral", "referrals",
          request=referrals.ReferralStatusRequest, response=referrals.ReferralResult, conflicts=True),
    Route("get_handoff", "GET", "/v1/referrals/{id}/handoff",
          "Receive the participant details for an accepted referral", "referrals",
          response=referrals.HandoffResult, conflicts=True),
    Route("create_mentor", "POST", "/v1/mentors", "Register a mentor", "mentors", 201,
          matching.MentorCreateRequest, response=matching.MentorResult, creates=True),
    Route("list_mentors", "GET", "/v1/mentors", "List the agency's mentors", "mentors",
          query=matching.MentorListQuery, response=matching.MentorPageResult),
    Route("update_mentor", "PATCH", "/v1/mentors/{id}", "Change some of a mentor's details",
          "mentors", request=matching.MentorPatchRequest, response=matching.MentorResult, conflicts=True),
    Route("list_matches", "GET", "/v1/matches", "List matches proposed to the agency's mentors",
          "matches", query=matching.MatchListQuery, response=matching.MatchPageResult),
    Route("accept_match", "POST", "/v1/matches/{id}/accept", "Accept a proposed match",
          "matches", response=matching.MatchResult, conflicts=True),
    Route("decline_match", "POST", "/v1/matches/{id}/decline", "Decline a proposed match",
          "matches", request=matching.DeclineRequest, response=matching.MatchResult, conflicts=True),
    Route("put_notification_settings", "PUT", "/v1/notification-settings",
          "Set where the agency's notifications go", "notifications",
          request=notifications.NotificationSettingsRequest,
          response=notifications.NotificationSettingsSchema),
    Route("get_notification_settings", "GET", "/v1/notification-settings",
          "Read where the agency's notifications go", "notifications",
          response=notifications.NotificationSettingsSchema),
    Route("send_test_notification", "POST", "/v1/notification-settings/test",
          "Send a signed test event to the agency's webhook now", "notifications",
          response=notifications.DeliveryLogEntrySchema, conflicts=True),
    Route("list_notifications", "GET", "/v1/notifications", "The agency's delivery log",
          "notifications", query=notifications.NotificationListQuery,
          response=notifications.DeliveryPageSchema),
    Route("log_contact", "POST", "/v1/referrals/{id}/contacts",
          "Record a contact with the participant of an assigned referral", "engagement", 201,
          engagement.ContactCreateRequest, response=engagement.ContactResult, creates=True, conflicts=True),
    Route("get_engagement", "GET", "/v1/referrals/{id}/engagement",
          "The peer group's engagement: contacts, check-ins, answers, crises", "engagement",
          response=engagement.EngagementResult),
    Route("start_checkins", "POST", "/v1/referrals/{id}/check-ins",
          "Switch automated check-ins on, with how the participant consented", "engagement",
          request=engagement.CheckinStartRequest, response=engagement.EngagementResult, conflicts=True),
    Route("put_engagement_settings", "PUT", "/v1/engagement-settings",
          "How the peer group signs its texts, and its on-call ladder for crises", "engagement",
          request=engagement.EngagementSettingsRequest, response=engagement.EngagementSettingsResult),
    Route("get_engagement_settings", "GET", "/v1/engagement-settings",
          "Read the peer group's engagement settings", "engagement",
          response=engagement.EngagementSettingsResult),
    Route("acknowledge_crisis", "POST", "/v1/crises/{id}/acknowledge",
          "Acknowledge a crisis alert: it escalates no further", "engagement",
          response=engagement.CrisisResult, conflicts=True),
    Route("receive_sms", "POST", "/v1/sms/inbound",
          "The SMS provider's webhook for participants' texts (X-Twilio-Signature checked)", "engagement",
          media_type="text/xml", problems=(403, 409, 413, 422)),
    Route("open_assessment", "GET", "/v1/assessment",
          "The BARC-10 questionnaire a participant's single-use link opens (HTML, no sign-in)", "engagement",
          query=engagement.AssessmentLinkQuery, media_type="text/html", page_errors=(404,)),
    Route("answer_assessment", "POST", "/v1/assessment",
          "A participant's answers to the questionnaire (form-encoded; the link is used up)", "engagement",
          media_type="text/html", problems=(413,), page_errors=(404, 422)),
    Route("open_checkin", "GET", "/v1/check-in",
          "The one-question check-in form a check-in email's single-use link opens (HTML, no sign-in)",
          "engagement", query=engagement.CheckinLinkQuery, media_type="text/html", page_errors=(404,)),
    Route("answer_checkin", "POST", "/v1/check-in",
          "A participant's check-in answer from the form (form-encoded; the link is used up)", "engagement",
          media_type="text/html", problems=(409, 413), page_errors=(404, 422)),
    Route("open_checkin_stop", "GET", "/v1/check-in/stop",
          "The page of a check-in email's stop link: a button that ends every automated message",
          "engagement", query=engagement.CheckinLinkQuery, media_type="text/html", page_errors=(404,)),
    Route("stop_checkin", "POST", "/v1/check-in/stop",
          "One-click stop (RFC 8058 List-Unsubscribe-Post, or the page's button): every automated "
          "message ends", "engagement", query=engagement.CheckinLinkQuery, media_type="text/html",
          problems=(409, 413), page_errors=(404,)),
    Route("list_disclosures", "GET", "/v1/participants/{id}/disclosures",
          "Accounting of a participant's disclosures", "audit", query=g.DisclosureQuery,
          response=consent.DisclosurePageSchema),
    Route("get_ledger", "GET", "/v1/audit/ledger", "Read the audit ledger", "audit",
          query=consent.LedgerFilters, response=consent.LedgerPageSchema),
    Route("verify_ledger", "GET", "/v1/audit/verify", "Verify the audit ledger's hash chain",
          "audit", response=consent.LedgerVerificationSchema),
    Route("start_verification", "POST", "/v1/audit/verifications",
          "Start verifying the ledger in the background, or answer the verification under way",
          "audit", status=202, response=consent.LedgerVerificationJobSchema),
    Route("get_verification", "GET", "/v1/audit/verifications/{id}",
          "A background verification's state, progress and result", "audit",
          response=consent.LedgerVerificationJobSchema),
    Route("export_ledger", "GET", "/v1/audit/ledger/export",
          "Export the whole audit ledger for an outside auditor, one entry per line", "audit",
          response=consent.LedgerExportEntrySchema, media_type=NDJSON),
    Route("get_ledger_public_key", "GET", "/v1/audit/public-key",
          "The public key that checks the ledger's signed checkpoints", "audit", media_type=PEM),
    Route("get_outcomes_report", "GET", "/v1/reports/outcomes",
          "De-identified outcomes of the network by month: no figure describes fewer than k participants "
          "(Accept: text/csv for CSV)", "reports", query=outcomes.OutcomesQuery,
          response=outcomes.OutcomesReport, alternatives=(CSV,)),
    Route("list_dead_letters", "GET", "/v1/dead-letters",
          "Events a consumer gave up on: ids, consumer and error, never the body", "operations",
          response=g.DeadLetterListSchema),
    Route("replay_dead_letter", "POST", "/v1/dead-letters/{id}/replay",
          "Send a dead letter back to the consumer that parked it (an unreadable one stays)",
          "operations", response=g.DeadLetterReplaySchema, conflicts=True),
    Route("health", "GET", "/health", "The gateway process is running", "operations",
          response=g.HealthSchema),
    Route("ready", "GET", "/ready", "Every service answers", "operations",
          response=g.ReadinessSchema, other_responses=((503, g.ReadinessSchema),)),
    Route("openapi", "GET", "/openapi.json", "This document", "operations"),
)

ROUTES_BY_OPERATION: dict[str, Route] = {route.operation: route for route in ROUTES}
