"""Which agencies may call which routes: roles, and the kinds of agency each role belongs to."""

from __future__ import annotations

import pytest

from gateway.auth import Principal
from gateway.policy import ROUTE_ROLES, acting_roles, authorize, is_public, roles_unfit_for_kind
from gateway.routes import ROUTES
from services.kit.errors import Forbidden

HOSPITAL = Principal("a-hospital", "hospital", frozenset({"referrer"}))
PEER_GROUP = Principal("a-peers", "peer_group", frozenset({"coordinator"}))
ADMIN = Principal("a-admin", "clinic", frozenset({"admin"}))
OPERATOR = Principal("a-operator", "operator", frozenset({"operator"}))
FUNDER = Principal("a-funder", "funder", frozenset({"funder"}))

REFERRER_OPS = {"grant_consent", "get_consent", "revoke_consent", "attest_consent", "end_treatment",
                "create_referral",
                "list_referrals", "get_referral", "cancel_referral", "list_disclosures",
                "put_notification_settings", "get_notification_settings", "list_notifications",
                "list_agencies", "get_session", "sign_out"}
COORDINATOR_OPS = {"create_mentor", "list_mentors", "update_mentor", "list_matches",
                   "accept_match", "decline_match", "report_referral_status", "get_handoff",
                   "list_referrals", "get_referral", "put_notification_settings",
                   "get_notification_settings", "list_notifications", "list_agencies", "get_session",
                   "sign_out", "log_contact", "get_engagement", "start_checkins", "put_engagement_settings",
                   "get_engagement_settings", "acknowledge_crisis"}
# An admin also manages its own agency's people, and a signed-in admin may sign out.
ADMIN_WRITES = {"put_notification_settings", "send_test_notification", "create_key", "rotate_key",
                "revoke_key", "invite_person", "update_person", "reinvite_person", "sign_out",
                "register_smart_client", "revoke_smart_client"}
OPERATOR_OPS = {"create_agency", "list_agencies", "deactivate_agency", "reactivate_agency",
                "list_keys", "create_key", "rotate_key", "revoke_key", "get_ledger", "verify_ledger",
                "put_notification_settings", "get_notification_settings", "list_notifications",
                "list_dead_letters", "export_ledger", "get_session", "sign_out",
                "start_verification", "get_verification", "list_smart_clients", "register_smart_client",
                "revoke_smart_client", "replay_dead_letter", "get_outcomes_report",
                # its own agency's people, who can hold only the operator role
                "invite_person", "list_people", "update_person", "reinvite_person"}
# A funder reads the de-identified outcome reports; a signed-in funder may also read and end its session.
FUNDER_OPS = {"get_outcomes_report", "get_session", "sign_out"}
PROTECTED = [r.operation for r in ROUTES if not is_public(r.operation)]


def test_every_route_has_a_policy_and_every_policy_a_route():
    assert set(ROUTE_ROLES) == {route.operation for route in ROUTES}


@pytest.mark.parametrize("operation", PROTECTED)
def test_a_referrer_calls_exactly_its_routes(operation):
    allowed = operation in REFERRER_OPS
    assert bool(acting_roles(HOSPITAL, operation)) is allowed
    if not allowed:
        with pytest.raises(Forbidden):
            authorize(HOSPITAL, operation)


@pytest.mark.parametrize("operation", PROTECTED)
def test_a_peer_group_coordinator_calls_exactly_its_routes(operation):
    assert bool(acting_roles(PEER_GROUP, operation)) is (operation in COORDINATOR_OPS)


@pytest.mark.parametrize("route", [r for r in ROUTES if not is_public(r.operation)],
                         ids=lambda r: r.operation)
def test_an_agency_admin_reads_its_agency_and_manages_only_its_keys_and_settings(route):
    if route.method == "GET":
        # The engagement (notes, answers) is the assigned peer group's, like the handoff.
        expected = route.operation not in {"get_handoff", "verify_ledger", "export_ledger",
                                           "list_dead_letters", "get_verification", "get_engagement"}
    else:
        expected = route.operation in ADMIN_WRITES
    assert bool(acting_roles(ADMIN, route.operation)) is expected


@pytest.mark.parametrize("operation", PROTECTED)
def test_the_operator_manages_agencies_and_the_ledger_and_reaches_no_participant_data(operation):
    assert bool(acting_roles(OPERATOR, operation)) is (operation in OPERATOR_OPS)


def test_the_operator_role_counts_only_for_an_operator_agency():
    pretender = Principal("a-clinic", "clinic", frozenset({"operator", "admin"}))
    with pytest.raises(Forbidden):
        authorize(pretender, "create_agency")
    assert roles_unfit_for_kind(["operator"], "clinic") == ["operator"]
    assert roles_unfit_for_kind(["admin"], "operator") == ["admin"]


def test_a_role_that_does_not_fit_the_agency_kind_counts_for_nothing():
    misfiled = Principal("a-hospital", "hospital", frozenset({"coordinator", "referrer"}))
    with pytest.raises(Forbidden):
        authorize(misfiled, "create_mentor")
    assert authorize(misfiled, "create_referral") == {"referrer"}


def test_an_agency_with_several_roles_acts_in_those_that_allow_the_route():
    both = Principal("a-peers", "peer_group", frozenset({"coordinator", "admin"}))
    assert authorize(both, "list_referrals") == {"coordinator", "admin"}
    assert authorize(both, "get_ledger") == {"admin"}


@pytest.mark.parametrize("operation", ["health", "ready", "openapi"])
def test_operations_routes_are_public(operation):
    assert is_public(operation)
    assert authorize(HOSPITAL, operation) == frozenset()


def test_roles_that_do_not_fit_a_kind_are_named():
    assert roles_unfit_for_kind(["referrer", "coordinator", "admin"], "hospital") == [
        "coordinator"]
    assert roles_unfit_for_kind(["referrer"], "peer_group") == ["referrer"]
    assert roles_unfit_for_kind(["coordinator", "admin"], "peer_group") == []


@pytest.mark.parametrize("operation", PROTECTED)
def test_a_funder_reads_outcome_reports_and_nothing_else(operation):
    assert bool(acting_roles(FUNDER, operation)) is (operation in FUNDER_OPS)


def test_the_funder_role_counts_only_for_a_funder_agency_and_a_funder_holds_no_other():
    pretender = Principal("a-clinic", "clinic", frozenset({"funder"}))
    with pytest.raises(Forbidden):
        authorize(pretender, "get_outcomes_report")
    assert roles_unfit_for_kind(["funder"], "clinic") == ["funder"]
    others = ["admin", "referrer", "operator"]
    assert roles_unfit_for_kind(others, "funder") == others
