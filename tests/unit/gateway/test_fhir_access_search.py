"""SMART scopes on /fhir, and FHIR search parameters read into referral listings."""

from __future__ import annotations

import pytest

from gateway.auth import Principal
from gateway.fhir.access import allows, require_scope
from gateway.fhir.search import SERVICE_REQUEST_PARAMS, TASK_PARAMS, referral_query, searchset
from services.kit.errors import Forbidden, InvalidRequest
from tests.harness.fhir import validate

KEY = Principal("agency-1", "hospital", frozenset({"referrer"}), "k1", "key:default")


class Token:
    def __init__(self, scopes):
        self.scopes = scopes


def test_callers_without_scopes_are_left_to_their_roles():
    for interaction in ("create", "read", "update", "delete", "search"):
        require_scope(KEY, "Task", interaction)
    require_scope({"agency_id": "agency-1"}, "Consent", "create")


@pytest.mark.parametrize(("scopes", "resource", "interaction", "allowed"), [
    ("system/Task.rs", "Task", "read", True),
    ("system/Task.rs", "Task", "search", True),
    ("system/Task.rs", "Task", "update", False),
    ("system/Task.rs", "ServiceRequest", "read", False),
    ("system/ServiceRequest.c", "ServiceRequest", "create", True),
    ("system/ServiceRequest.c", "ServiceRequest", "read", False),
    ("system/*.cruds", "Consent", "delete", True),
    ("system/Task.read", "Task", "search", True),
    ("system/Task.write", "Task", "update", True),
    ("system/Task.write", "Task", "read", False),
    ("system/*.*", "Patient", "read", True),
    ("system/Task.sr", "Task", "read", False),  # v2 letters out of order are not a scope
    ("system/Task.rs?status=requested", "Task", "read", False),  # restricted: not honoured
    ("patient/Task.rs", "Task", "read", False),
    ("user/Task.rs system/Consent.r", "Consent", "read", True),
    ("", "Task", "read", False),
])
def test_smart_v2_and_v1_system_scopes(scopes, resource, interaction, allowed):
    assert allows(scopes.split(), resource, interaction) is allowed
    if allowed:
        require_scope(Token(scopes), resource, interaction)
        require_scope({"scopes": scopes.split()}, resource, interaction)
    else:
        with pytest.raises(Forbidden):
            require_scope(Token(scopes), resource, interaction)


def test_task_search_parameters_become_listing_filters():
    query = referral_query({
        "requester": ["Organization/agency-1"], "owner": ["agency-2"], "status": ["accepted"],
        "_lastUpdated": ["gt2026-12-01T10:00:00Z", "le2026-12-02"], "identifier": ["https://e.x|ORD-1"],
        "_count": ["20"], "_page": ["cursor"], "patient": ["Patient/p-1"]}, TASK_PARAMS, "Task")
    assert query == {
        "referrer_agency_id": "agency-1", "assigned_agency_id": "agency-2", "status": "accepted",
        "updated_after": "2026-12-01T10:00:00+00:00", "updated_before": "2026-12-02T00:00:00.000001+00:00",
        "external_id": "ORD-1", "external_id_system": "https://e.x", "limit": 20, "page": "cursor",
        "participant_id": "p-1"}
    assert referral_query({"focus": ["ServiceRequest/r-1"]}, TASK_PARAMS, "Task") == {"id": "r-1"}
    assert referral_query({"identifier": ["ORD-1"]}, SERVICE_REQUEST_PARAMS, "ServiceRequest") == {
        "external_id": "ORD-1"}


@pytest.mark.parametrize("args", [
    {"owner": ["Patient/x"]}, {"_lastUpdated": ["2026-12-01"]}, {"_lastUpdated": ["gtyesterday"]},
    {"_count": ["0"]}, {"_count": ["500"]}, {"status": ["requested,accepted"]}, {"code": ["x"]},
    {"_lastUpdated": ["gt2026-12-01T10:00:00"]}, {"focus": ["Task/x"]},
])
def test_malformed_or_unknown_parameters_are_refused_by_name(args):
    with pytest.raises(InvalidRequest) as refused:
        referral_query(args, TASK_PARAMS, "Task")
    assert set(refused.value.errors) == set(args)


def test_searchsets_link_to_their_next_page():
    task = {"resourceType": "Task", "id": "r-1", "status": "requested", "intent": "order"}
    bundle = searchset("http://h/fhir", "Task", [task], {"status": ["requested"], "_count": ["1"]}, "c2")
    validate(bundle)
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["next"] == "http://h/fhir/Task?_count=1&status=requested&_page=c2"
    assert "total" not in bundle
    last = searchset("http://h/fhir", "Task", [task], {}, None)
    assert last["total"] == 1 and [link["relation"] for link in last["link"]] == ["self"]
