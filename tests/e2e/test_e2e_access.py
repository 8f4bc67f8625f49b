"""Who may touch what, through HTTP on the real network (OWASP API1/API5).

Every object route × {owner, another agency of the same kind, an agency of another kind,
no key, a wrong key}: other agencies get a 404 identical to an unknown id, a missing or
wrong key 401, a role that may not call the route 403. Every route × {the network operator, an
agency's admin, a referrer, a coordinator, a revoked key, a deactivated agency's key}: exactly the
policy's roles get past it, and the last two never get past authentication.
"""

from __future__ import annotations

import uuid

import pytest

from gateway.policy import ROUTE_ROLES
from gateway.routes import ROUTES
from network.processes import Client
from tests.harness.journeys import grant_consent, mentor, proposed_match, refer, referral, wait

pytestmark = pytest.mark.e2e
UNKNOWN = "00000000-0000-4000-8000-000000000000"
WRONG_KEY = f"rn_{'0' * 16}_{'x' * 43}"


@pytest.fixture(scope="module")
def principals(network, operator, agencies) -> dict[str, Client]:
    """One caller of each kind: the operator, an admin-only key of the clinic, a referrer, a
    coordinator, a key its admin revoked, and the key of an agency the operator deactivated."""
    clinic = agencies["clinic"]
    keys_path = f"/v1/agencies/{clinic.id}/keys"
    auditor = clinic.ok("POST", keys_path, {"name": "privacy-officer", "roles": ["admin"]})
    revoked = clinic.ok("POST", keys_path, {"name": "retired-system", "roles": ["referrer"]})
    clinic.ok("POST", f"{keys_path}/{revoked['id']}/revoke")
    closing = operator.ok("POST", "/v1/agencies", {"name": "Closing Sober Living", "kind": "sober_living",
                                                   "roles": ["referrer"]})
    operator.ok("POST", f"/v1/agencies/{closing['id']}/deactivate")
    as_clinic = lambda key: Client(network.base_url, {**clinic.agency, "api_key": key})  # noqa: E731
    return {"operator": operator, "admin": as_clinic(auditor["api_key"]),
            "referrer": agencies["hospital"], "coordinator": agencies["peers_a"],
            "revoked key": as_clinic(revoked["api_key"]),
            "deactivated agency": Client(network.base_url, closing)}


ROLE_OF = {"operator": "operator", "admin": "admin", "referrer": "referrer", "coordinator": "coordinator"}
# A person's own session: every role may read or end it, but only with a session token (a key is
# 403 there, whatever its roles); tests/integration/gateway/test_gateway_people.py covers them.
SESSION_ROUTES = {"get_session", "sign_out"}
PROTECTED_ROUTES = [route for route in ROUTES
                    if ROUTE_ROLES[route.operation] and route.operation not in SESSION_ROUTES]


@pytest.mark.parametrize("route", PROTECTED_ROUTES, ids=lambda r: r.operation)
def test_every_route_admits_exactly_the_roles_of_the_policy(principals, route):
    path = route.path.replace("{id}", UNKNOWN).replace("{key_id}", "0" * 16)
    # Unknown ids and a field no schema knows: whoever gets past the policy gets a 404 or a 422,
    # and nothing is created, changed or replaced.
    body = {"surprise": 1} if route.method in ("POST", "PUT", "PATCH") else None
    for who, client in principals.items():
        response = client.request(route.method, path, body,
                                  headers={"Idempotency-Key": str(uuid.uuid4())})
        if who not in ROLE_OF:
            assert response.status_code == 401, (who, route.operation, response.text)
            continue
        barred = response.status_code == 403 and response.json()["code"] == "forbidden"
        allowed = ROLE_OF[who] in ROUTE_ROLES[route.operation]
        assert response.status_code != 401, (who, route.operation)
        assert barred is not allowed, (who, route.operation, response.status_code, response.text)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.operation in SESSION_ROUTES],
                         ids=lambda r: r.operation)
def test_a_session_route_refuses_every_api_key(principals, route):
    for who, client in principals.items():
        response = client.request(route.method, route.path)
        assert response.status_code == (403 if who in ROLE_OF else 401), (who, response.text)


def test_an_agency_admin_reads_nothing_of_another_agency(world, principals, agencies):
    admin, hospital = principals["admin"], world["hospital"]
    assert admin.request("GET", _path("/v1/referrals/{referral}", world)).status_code == 404
    assert admin.request("GET", _path("/v1/consents/{consent}", world)).status_code == 404
    assert admin.request("GET", _path("/v1/participants/{participant}/disclosures", world)).status_code == 404
    assert world["referral"]["id"] not in _ids_of(admin, "/v1/referrals")
    assert _ids_of(admin, "/v1/mentors") == set()
    rows = admin.ok("GET", "/v1/audit/ledger?limit=1000")["items"]
    clinic_id = agencies["clinic"].id
    assert rows and all(clinic_id in (row["agency_id"], row.get("recipient")) for row in rows)
    assert not any(row["agency_id"] == hospital.id for row in rows)
    # The directory names every active agency, and nothing more than names and kinds.
    directory = admin.ok("GET", "/v1/agencies")["items"]
    assert {"id", "name", "kind"} == set(next(a for a in directory if a["id"] == hospital.id))


def test_the_operator_sees_the_whole_ledger_and_every_agency_but_no_participant_data(
        world, principals):
    operator, hospital = principals["operator"], world["hospital"]
    rows = operator.ok("GET", f"/v1/audit/ledger?agency={hospital.id}&action=disclosure")["items"]
    assert rows and all(row["agency_id"] == hospital.id for row in rows)
    decisions = operator.ok("GET", f"/v1/audit/ledger?agency={hospital.id}&action=decision")["items"]
    assert decisions and {"permit", "reason", "recipient", "purpose", "data_classes"} <= set(decisions[0])
    statuses = {a["name"]: a["status"] for a in operator.ok("GET", "/v1/agencies")["items"]}
    assert statuses["Closing Sober Living"] == "deactivated"
    for template in ("/v1/referrals/{referral}", "/v1/consents/{consent}",
                     "/v1/participants/{participant}/disclosures", "/v1/referrals/{referral}/handoff"):
        assert operator.request("GET", _path(template, world)).status_code == 403


@pytest.fixture(scope="module")
def world(network, operator, agencies):
    """A second hospital and peer group, and one object of each kind owned by the first ones."""
    hospital, peers = agencies["hospital"], agencies["peers_a"]
    other_hospital = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "County Hospital", "kind": "hospital", "roles": ["referrer"]}))
    peers.ok("POST", "/v1/mentors", mentor(900, languages=("pt",)))
    consent = grant_consent(hospital, tag="Access", agencies=[peers.id], classes=())
    ref = refer(hospital, consent, languages=("pt",))
    _, match = wait(lambda: proposed_match([peers], ref["id"]), "a proposal")
    peers.ok("POST", f"/v1/matches/{match['id']}/accept")
    wait(lambda: referral(hospital, ref["id"])["status"] == "accepted", "acceptance")
    mentor_id = next(m["id"] for m in _ids_of(peers, "/v1/mentors", whole=True)
                     if m["display_name"] == "Mentor 900")
    return {"hospital": hospital, "other_hospital": other_hospital, "peers": peers,
            "other_peers": agencies["peers_b"], "sober_living": agencies["sober_living"],
            "consent": consent, "referral": ref, "match": match, "mentor_id": mentor_id}


def _no_key(client: Client) -> Client:
    return Client(client.base_url, {"id": "", "api_key": ""})


# (route, owner label, same-kind stranger, other-kind stranger, status for the other kind, body)
OBJECT_ROUTES = [
    ("GET", "/v1/consents/{consent}", "hospital", "other_hospital", "peers", 403, None),
    ("GET", "/v1/referrals/{referral}", "hospital", "other_hospital", "sober_living", 404, None),
    ("GET", "/v1/referrals/{referral}/handoff", "peers", "other_peers", "hospital", 403, None),
    ("POST", "/v1/referrals/{referral}/cancel", "hospital", "other_hospital", "peers", 403, {"reason": "x"}),
    ("POST", "/v1/referrals/{referral}/status", "peers", "other_peers", "hospital", 403,
     {"status": "on-hold", "reason": "x"}),
    ("PATCH", "/v1/mentors/{mentor}", "peers", "other_peers", "hospital", 403, {"capacity": 4}),
    ("POST", "/v1/matches/{match}/decline", "peers", "other_peers", "hospital", 403, {"reason": "x"}),
    ("GET", "/v1/participants/{participant}/disclosures", "hospital", "other_hospital", "peers", 403, None),
]


def _path(template: str, world: dict, unknown: bool = False) -> str:
    ids = {"consent": world["consent"]["id"], "referral": world["referral"]["id"],
           "mentor": world["mentor_id"], "match": world["match"]["id"],
           "participant": world["consent"]["participant_id"]}
    return template.format(**({k: UNKNOWN for k in ids} if unknown else ids))


@pytest.mark.parametrize("method,template,owner,same_kind,other_kind,other_status,body", OBJECT_ROUTES)
def test_strangers_cannot_tell_an_object_exists(world, method, template, owner, same_kind, other_kind,
                                                other_status, body):
    path = _path(template, world)
    stranger = world[same_kind].request(method, path, body)
    unknown = world[same_kind].request(method, _path(template, world, unknown=True), body)
    assert stranger.status_code == 404, stranger.text
    seen, never_was = stranger.json(), unknown.json()
    assert seen.pop("request_id") != never_was.pop("request_id")  # each request has its own id
    assert seen == never_was  # exactly like an id that does not exist
    assert world[other_kind].request(method, path, body).status_code == other_status
    assert _no_key(world[owner]).request(method, path, body).status_code == 401
    assert world[owner].request(method, path, body, key=WRONG_KEY).status_code == 401


def test_owners_read_their_objects(world):
    assert world["hospital"].request("GET", _path("/v1/consents/{consent}", world)).status_code == 200
    assert world["hospital"].request("GET", _path("/v1/referrals/{referral}", world)).status_code == 200
    assert world["peers"].request("GET", _path("/v1/referrals/{referral}", world)).status_code == 200
    assert world["peers"].request("GET", _path("/v1/referrals/{referral}/handoff", world)).status_code == 200


def _ids_of(client: Client, path: str, whole: bool = False):
    items = client.ok("GET", path)["items"]
    return items if whole else {item["id"] for item in items}


def test_lists_show_only_own_or_assigned_objects(world):
    referral_id = world["referral"]["id"]
    assert referral_id in _ids_of(world["hospital"], "/v1/referrals")
    assert referral_id not in _ids_of(world["other_hospital"], "/v1/referrals")
    assert referral_id in _ids_of(world["peers"], "/v1/referrals")
    assert world["mentor_id"] not in _ids_of(world["other_peers"], "/v1/mentors")
    assert world["match"]["id"] not in _ids_of(world["other_peers"], "/v1/matches")


@pytest.mark.parametrize("who,method,path", [
    ("hospital", "GET", "/v1/audit/ledger"), ("peers", "GET", "/v1/audit/verify"),
    ("peers", "POST", "/v1/referrals"), ("hospital", "POST", "/v1/mentors"),
    ("hospital", "POST", "/v1/agencies"), ("peers", "POST", "/v1/consents"),
])
def test_roles_that_may_not_call_a_route_get_403(world, who, method, path):
    response = world[who].request(method, path, {})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def _count_referrals(client: Client) -> int:
    return len(client.ok("GET", "/v1/referrals")["items"])


@pytest.mark.parametrize("path,body,fields", [
    ("/v1/referrals", {}, {"participant_id", "consent_id", "reason", "needs"}),
    ("/v1/referrals", {"participant_id": 7, "consent_id": "c", "reason": "r", "urgency": "whenever",
                       "needs": {"languages": "es"}}, {"participant_id", "urgency", "needs.languages"}),
    ("/v1/consents", {"participant": {"given_name": "A"}}, {"participant.family_name", "disclosers",
                                                             "purposes", "data_classes", "signature"}),
    ("/v1/mentors", {"display_name": "M"}, {"languages", "capacity"}),
])
def test_bad_input_is_a_clear_problem_and_creates_nothing(world, path, body, fields):
    creator = world["peers"] if path == "/v1/mentors" else world["other_hospital"]
    before = _count_referrals(world["other_hospital"])
    response = creator.request("POST", path, body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_request"
    assert fields <= set(problem["errors"]), problem["errors"]
    assert _count_referrals(world["other_hospital"]) == before


def test_a_consent_that_does_not_cover_peer_groups_is_refused_with_consent_required(world):
    hospital = world["hospital"]
    consent = grant_consent(hospital, tag="NoPeers", classes=(), agencies=[world["other_hospital"].id])
    response = hospital.request("POST", "/v1/referrals", {
        "participant_id": consent["participant_id"], "consent_id": consent["id"], "reason": "r",
        "urgency": "routine", "needs": {"languages": ["en"]}})
    assert response.status_code == 403 and response.json()["code"] == "consent_required"


def test_invalid_json_oversized_body_and_reused_idempotency_key(world):
    hospital = world["hospital"]
    bad = hospital.http.post(hospital.base_url + "/v1/referrals", data=b"{oops",
                             headers={"Authorization": f"Bearer {hospital.agency['api_key']}",
                                      "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
    huge = hospital.request("POST", "/v1/referrals", {"reason": "x" * 70_000})
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    consent, key = world["consent"], {"Idempotency-Key": str(uuid.uuid4())}
    body = {"participant_id": consent["participant_id"], "consent_id": consent["id"], "reason": "again",
            "urgency": "routine", "needs": {"languages": ["pt"]}}
    first = hospital.request("POST", "/v1/referrals", body, headers=key)
    again = hospital.request("POST", "/v1/referrals", body, headers=key)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    other = hospital.request("POST", "/v1/referrals", {**body, "reason": "different"}, headers=key)
    assert other.status_code == 409 and other.json()["code"] == "conflict"
