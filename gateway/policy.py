"""Who may call each route: roles, and the agency kinds each role belongs to.

This is the gateway's coarse check (OWASP API5, function level). Whether an agency may touch a
particular referral, match or mentor is decided by the service that owns it, which answers
``NotFound`` for other agencies' objects (OWASP API1).

Two kinds of administrator: the network *operator* (an agency of kind ``operator``) manages
agencies and reads the network-wide ledger, and never reaches participant data or handoffs; an
agency's *admin* manages its own keys and settings and audits its own agency only.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.auth import Principal
from services.kit.errors import Forbidden
from services.kit.vocabulary import AGENCY_KINDS, FUNDER, OPERATOR, ROLES

REFERRER, COORDINATOR, ADMIN = "referrer", "coordinator", "admin"
assert {REFERRER, COORDINATOR, ADMIN, OPERATOR, FUNDER} == set(ROLES)

# Treatment providers refer; peer groups coordinate mentors; any agency administers itself; only
# the operator's agency operates the network.
ROLE_KINDS: dict[str, frozenset[str]] = {
    REFERRER: frozenset({"hospital", "clinic", "sober_living"}),
    COORDINATOR: frozenset({"peer_group"}),
    ADMIN: frozenset(AGENCY_KINDS),
    OPERATOR: frozenset({OPERATOR}),
    # A funder reads the outcome reports and nothing else (no admin: its keys are the operator's to issue).
    FUNDER: frozenset({FUNDER}),
}

# Every role that takes part in the network's work; a funder only reads reports (and signs in).
EVERY_ROLE = frozenset(ROLES) - {FUNDER}
SIGNED_IN = frozenset(ROLES)
PUBLIC: frozenset[str] = frozenset()  # no API key needed

KEY_MANAGERS = frozenset({ADMIN, OPERATOR})
PEOPLE_MANAGERS = frozenset({ADMIN, OPERATOR})

# Operation name (as in gateway.routes and the OpenAPI operationId) → roles that may call it.
# An agency's admin reads what its own agency may read (the services scope every answer to the
# caller's agency), never the handoff: that is a disclosure to the assigned peer group under the
# participant's consent, which does not name administrators. The operator reaches no route that
# carries participant data.
ROUTE_ROLES: dict[str, frozenset[str]] = {
    "create_agency": frozenset({OPERATOR}),
    "list_agencies": EVERY_ROLE,
    "deactivate_agency": frozenset({OPERATOR}),
    "reactivate_agency": frozenset({OPERATOR}),
    "list_keys": KEY_MANAGERS,
    "create_key": KEY_MANAGERS,
    "rotate_key": KEY_MANAGERS,
    "revoke_key": KEY_MANAGERS,
    # An agency's admin registers the agency's SMART back-end clients, as it manages its keys.
    "list_smart_clients": KEY_MANAGERS,
    "register_smart_client": KEY_MANAGERS,
    "revoke_smart_client": KEY_MANAGERS,
    # A back-end client proves itself with its signed assertion, checked by the route.
    "smart_token": PUBLIC,
    # An agency's admin manages the agency's own people (other agencies answer 404); the operator
    # manages the operator agency's own people, who can only ever hold the operator role.
    "invite_person": PEOPLE_MANAGERS,
    "list_people": PEOPLE_MANAGERS,
    "update_person": PEOPLE_MANAGERS,
    "reinvite_person": PEOPLE_MANAGERS,
    # Signing in is how a person gets a session: their credentials are checked by the route.
    "accept_invitation": PUBLIC,
    "confirm_totp": PUBLIC,
    "sign_in": PUBLIC,
    "get_session": SIGNED_IN,
    "sign_out": SIGNED_IN,
    "grant_consent": frozenset({REFERRER}),
    "get_consent": frozenset({REFERRER, ADMIN}),
    "revoke_consent": frozenset({REFERRER}),
    "attest_consent": frozenset({REFERRER}),
    "end_treatment": frozenset({REFERRER}),
    "create_referral": frozenset({REFERRER}),
    "list_referrals": frozenset({REFERRER, COORDINATOR, ADMIN}),
    "get_referral": frozenset({REFERRER, COORDINATOR, ADMIN}),
    "cancel_referral": frozenset({REFERRER}),
    "report_referral_status": frozenset({COORDINATOR}),
    "get_handoff": frozenset({COORDINATOR}),
    "create_mentor": frozenset({COORDINATOR}),
    "list_mentors": frozenset({COORDINATOR, ADMIN}),
    "update_mentor": frozenset({COORDINATOR}),
    "list_matches": frozenset({COORDINATOR, ADMIN}),
    "accept_match": frozenset({COORDINATOR}),
    "decline_match": frozenset({COORDINATOR}),
    # The operator too: it hears of urgent proposals nobody answered (ids only).
    "put_notification_settings": EVERY_ROLE,
    "get_notification_settings": EVERY_ROLE,
    "list_notifications": EVERY_ROLE,
    "send_test_notification": frozenset({ADMIN}),
    # What a peer group does with a participant after the handoff: its coordinators only (another
    # agency's referral answers 404); its admin, who may be on call, reads the on-call settings.
    # The provider's webhook is public and checks its signature.
    "log_contact": frozenset({COORDINATOR}),
    "get_engagement": frozenset({COORDINATOR}),
    "start_checkins": frozenset({COORDINATOR}),
    "put_engagement_settings": frozenset({COORDINATOR}),
    "get_engagement_settings": frozenset({COORDINATOR, ADMIN}),
    "acknowledge_crisis": frozenset({COORDINATOR}),
    "receive_sms": PUBLIC,
    # A participant's questionnaire: the single-use link's token is the credential.
    "open_assessment": PUBLIC,
    "answer_assessment": PUBLIC,
    "open_checkin": PUBLIC,
    "answer_checkin": PUBLIC,
    "open_checkin_stop": PUBLIC,
    "stop_checkin": PUBLIC,
    # Referrers only for participants whose consent they hold: the consent service checks that.
    "list_disclosures": frozenset({REFERRER, ADMIN}),
    # The operator reads the whole ledger; an agency's admin the rows about its own agency.
    "get_ledger": frozenset({ADMIN, OPERATOR}),
    "verify_ledger": frozenset({OPERATOR}),
    "start_verification": frozenset({OPERATOR}),
    "get_verification": frozenset({OPERATOR}),
    # The export is the whole network's ledger, for an outside auditor: the operator's.
    "export_ledger": frozenset({OPERATOR}),
    # De-identified outcomes: the network's for funders and the operator, an agency's own for its admin.
    "get_outcomes_report": frozenset({FUNDER, ADMIN, OPERATOR}),
    "list_dead_letters": frozenset({OPERATOR}),
    "replay_dead_letter": frozenset({OPERATOR}),
    # A public key: anyone may check the ledger's checkpoints with it.
    "get_ledger_public_key": PUBLIC,
    "health": PUBLIC,
    "ready": PUBLIC,
    "openapi": PUBLIC,
}


def roles_unfit_for_kind(roles: Iterable[str], kind: str) -> list[str]:
    """The roles an agency of ``kind`` cannot hold (a hospital is never a coordinator)."""
    return [role for role in roles if kind not in ROLE_KINDS.get(role, frozenset())]


def is_public(operation: str) -> bool:
    """Whether ``operation`` is served without an API key. ``KeyError`` if it is unknown."""
    return ROUTE_ROLES[operation] == PUBLIC


def acting_roles(principal: Principal, operation: str) -> frozenset[str]:
    """The caller's roles that allow ``operation``, counting only roles that fit its kind."""
    held = {role for role in principal.roles if principal.kind in ROLE_KINDS.get(role, ())}
    return ROUTE_ROLES[operation] & held


def authorize_roles(principal: Principal, allowed: frozenset[str]) -> frozenset[str]:
    """As ``authorize``, for a route allowed to ``allowed`` roles (empty: public), e.g. a
    ``/fhir`` route of ``gateway/fhir/routes.py``."""
    held = {role for role in principal.roles if principal.kind in ROLE_KINDS.get(role, ())}
    roles = frozenset(allowed) & held
    if not roles and allowed:
        raise Forbidden("This agency's roles do not allow this request.")
    return roles


def authorize(principal: Principal, operation: str) -> frozenset[str]:
    """Check that ``principal`` may call ``operation``; return the roles it acts in.

    Raises ``Forbidden`` when none of its roles allows it, ``KeyError`` for an operation that
    is not in the table (a wiring mistake, not a client error).
    """
    roles = acting_roles(principal, operation)
    if not roles and not is_public(operation):
        raise Forbidden("This agency's roles do not allow this request.")
    return roles
