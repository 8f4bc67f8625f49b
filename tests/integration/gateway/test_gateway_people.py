"""People with their own logins, through the real gateway over HTTP (real RabbitMQ, SQLite and
PostgreSQL): invitation, password + TOTP enrolment and sign-in, lockout, session limits,
deactivation and sign-out. Time is the gateway's injected clock (``CLOCK_FILE``), moved by the
test; TOTP codes are computed with pyotp for that time, as an authenticator app would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import MetaData, select

from gateway.service import GatewayService
from network.processes import free_port
from services.kit.db import make_engine
from services.kit.entrypoints import rpc
from services.kit.messages import load_caller
from tests.integration.gateway.agencies import insert_agency
from tests.integration.gateway.conftest import Api
from tests.integration.gateway.test_gateway_front_door import assert_problem

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
EMAIL = "dana.whitfield@eastside.example"
NAME = "Dana Whitfield"
LOCKOUT_ATTEMPTS = 3


class Clock:
    """The gateway's clock, as a file the test moves forward."""

    def __init__(self, path) -> None:
        self.path = path
        self.now = T0
        self.path.write_text(T0.isoformat())

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        self.path.write_text(self.now.isoformat())
        return self.now


class Referrals:
    """Stands in for the referrals service: records the caller each request arrives with."""

    name = "referrals"
    callers: list = []

    @rpc
    def list(self, caller, status=None, page=None):
        Referrals.callers.append(load_caller(caller))
        return {"items": [], "next_page": None}


@pytest.fixture
def clock(tmp_path) -> Clock:
    return Clock(tmp_path / "clock")


@pytest.fixture
def gateway_config(gateway_config, clock):
    return {**gateway_config, "CLOCK_FILE": str(clock.path), "SIGN_IN_LOCKOUT_ATTEMPTS": LOCKOUT_ATTEMPTS,
            "SIGN_IN_LOCKOUT_MINUTES": 15, "PERSON_SESSION_IDLE_MINUTES": 15,
            "PERSON_SESSION_ABSOLUTE_HOURS": 1}


@pytest.fixture
def clinic(gateway, gateway_config) -> dict:
    """A clinic that refers and administers itself, holding its own API key."""
    agency, key = insert_agency(gateway_config, "Eastside Clinic", "clinic", ["referrer", "admin"])
    return {**agency, "api_key": key}


class Person:
    def __init__(self, gateway, clock, email: str, secret: str, person_id: str) -> None:
        self.gateway, self.clock, self.email, self.secret, self.id = gateway, clock, email, secret, person_id

    def code(self) -> str:
        return pyotp.TOTP(self.secret).at(self.clock.now)

    def sign_in(self, password: str = PASSWORD, code: str | None = None):
        # Each sign-in takes a fresh code: a code's time step is accepted once.
        self.clock.advance(seconds=30)
        return self.gateway.call("POST", "/v1/sessions", json={
            "email": self.email, "password": password, "code": code or self.code()})

    def session(self) -> str:
        signed_in = self.sign_in()
        assert signed_in.status_code == 201, signed_in.text
        return signed_in.json()["token"]


def invite(gateway, agency: dict, key: str, email: str = EMAIL, roles=("referrer",)) -> dict:
    invited = gateway.call("POST", f"/v1/agencies/{agency['id']}/people", key,
                           json={"name": NAME, "email": email, "roles": list(roles)})
    assert invited.status_code == 201, invited.text
    return invited.json()


def enrol(gateway, clock, agency: dict, key: str, email: str = EMAIL, roles=("referrer",)) -> Person:
    invitation = invite(gateway, agency, key, email, roles)
    accepted = gateway.call("POST", "/v1/sessions/accept-invitation", json={
        "invitation_token": invitation["invitation_token"], "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    enrolment = accepted.json()
    assert enrolment["provisioning_uri"].startswith("otpauth://totp/")
    person = Person(gateway, clock, email, enrolment["totp_secret"], invitation["id"])
    confirmed = gateway.call("POST", "/v1/sessions/totp", json={
        "email": email, "password": PASSWORD, "code": person.code()})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "active"
    return person


def test_an_invited_person_signs_in_with_password_and_totp_and_acts_for_their_agency(
        gateway, clock, clinic, container_factory, gateway_config):
    container_factory(Referrals, gateway_config).start()
    Referrals.callers.clear()
    person = enrol(gateway, clock, clinic, clinic["api_key"])
    token = person.session()

    current = gateway.call("GET", "/v1/sessions/current", token)
    assert current.status_code == 200, current.text
    assert current.json()["person_id"] == person.id and current.json()["roles"] == ["referrer"]
    assert current.json()["expires_at"] == (clock.now + timedelta(hours=1)).isoformat()

    listed = gateway.call("GET", "/v1/referrals", token)
    assert listed.status_code == 200, listed.text
    (caller,) = Referrals.callers
    assert (caller.agency_id, caller.roles, caller.actor) == (
        clinic["id"], frozenset({"referrer"}), f"person:{person.id}")
    # A referrer person does not hold the agency's admin role.
    assert_problem(gateway.call("GET", f"/v1/agencies/{clinic['id']}/people", token), 403, "forbidden")


def test_a_signed_in_admin_manages_the_agency_people(gateway, clock, clinic):
    admin = enrol(gateway, clock, clinic, clinic["api_key"], "lead@eastside.example", ("admin",))
    token = admin.session()
    invited = invite(gateway, clinic, token, "new@eastside.example")
    listed = gateway.call("GET", f"/v1/agencies/{clinic['id']}/people", token)
    assert listed.status_code == 200, listed.text
    assert {(p["email"], p["status"]) for p in listed.json()["items"]} == {
        ("lead@eastside.example", "active"), ("new@eastside.example", "invited")}
    assert "invitation_token" not in listed.json()["items"][0]
    patched = gateway.call("PATCH", f"/v1/agencies/{clinic['id']}/people/{invited['id']}", token,
                           json={"roles": ["referrer", "admin"]})
    assert patched.status_code == 200 and patched.json()["roles"] == ["admin", "referrer"]


def test_a_wrong_code_a_wrong_password_and_an_unknown_email_are_refused_alike(gateway, clock, clinic):
    person = enrol(gateway, clock, clinic, clinic["api_key"])
    wrong_code = f"{(int(person.code()) + 1) % 1_000_000:06d}"
    answers = [person.sign_in(code=wrong_code), person.sign_in(password="not the password"),
               gateway.call("POST", "/v1/sessions", json={
                   "email": "nobody@eastside.example", "password": PASSWORD, "code": "123456"})]
    bodies = [assert_problem(answer, 401, "sign_in_refused") for answer in answers]
    for body in bodies:
        body.pop("request_id")
    assert bodies[0] == bodies[1] == bodies[2]
    assert person.sign_in().status_code == 201


def test_a_code_is_accepted_once(gateway, clock, clinic):
    person = enrol(gateway, clock, clinic, clinic["api_key"])
    clock.advance(seconds=30)  # past the step of the enrolment code
    code = person.code()
    first = gateway.call("POST", "/v1/sessions", json={"email": EMAIL, "password": PASSWORD, "code": code})
    again = gateway.call("POST", "/v1/sessions", json={"email": EMAIL, "password": PASSWORD, "code": code})
    assert first.status_code == 201, first.text
    assert_problem(again, 401, "sign_in_refused")


def test_repeated_failures_lock_sign_in_until_the_lockout_passes(gateway, clock, clinic):
    person = enrol(gateway, clock, clinic, clinic["api_key"])
    for _ in range(LOCKOUT_ATTEMPTS):
        assert_problem(person.sign_in(password="guessing again"), 401, "sign_in_refused")
    # Locked: even the right password and code are refused, and the answer does not say why.
    assert_problem(person.sign_in(), 401, "sign_in_refused")
    clock.advance(minutes=15)
    assert person.sign_in().status_code == 201


def test_a_session_ends_after_idle_time(gateway, clock, clinic):
    token = enrol(gateway, clock, clinic, clinic["api_key"]).session()
    for _ in range(3):  # each use starts the idle time again
        clock.advance(minutes=14)
        assert gateway.call("GET", "/v1/sessions/current", token).status_code == 200
    clock.advance(minutes=15)
    assert_problem(gateway.call("GET", "/v1/sessions/current", token), 401, "unauthorized")


def test_a_session_ends_at_its_absolute_limit_however_busy(gateway, clock, clinic):
    token = enrol(gateway, clock, clinic, clinic["api_key"]).session()
    for _ in range(5):
        clock.advance(minutes=11)
        assert gateway.call("GET", "/v1/sessions/current", token).status_code == 200
    clock.advance(minutes=6)  # 61 minutes after sign-in; the limit is one hour
    assert_problem(gateway.call("GET", "/v1/sessions/current", token), 401, "unauthorized")


def test_deactivating_a_person_ends_every_session_at_once(gateway, clock, clinic):
    person = enrol(gateway, clock, clinic, clinic["api_key"])
    tokens = [person.session(), person.session()]
    path = f"/v1/agencies/{clinic['id']}/people/{person.id}"
    deactivated = gateway.call("PATCH", path, clinic["api_key"], json={"status": "deactivated"})
    assert deactivated.status_code == 200 and deactivated.json()["status"] == "deactivated"
    for token in tokens:
        assert_problem(gateway.call("GET", "/v1/sessions/current", token), 401, "unauthorized")
    assert_problem(person.sign_in(), 401, "sign_in_refused")
    # Reactivated, they sign in anew; the old sessions stay ended.
    assert gateway.call("PATCH", path, clinic["api_key"], json={"status": "active"}).status_code == 200
    assert person.sign_in().status_code == 201
    assert_problem(gateway.call("GET", "/v1/sessions/current", tokens[0]), 401, "unauthorized")


def test_sign_out_ends_only_that_session(gateway, clock, clinic):
    person = enrol(gateway, clock, clinic, clinic["api_key"])
    leaving, staying = person.session(), person.session()
    assert gateway.call("DELETE", "/v1/sessions/current", leaving).status_code == 204
    assert_problem(gateway.call("GET", "/v1/sessions/current", leaving), 401, "unauthorized")
    assert gateway.call("GET", "/v1/sessions/current", staying).status_code == 200
    # An API key has no session to end.
    assert_problem(gateway.call("DELETE", "/v1/sessions/current", clinic["api_key"]), 403, "forbidden")


def test_an_invitation_is_used_once_and_expires(gateway, clock, clinic):
    first = invite(gateway, clinic, clinic["api_key"])
    accept = {"invitation_token": first["invitation_token"], "password": PASSWORD}
    assert gateway.call("POST", "/v1/sessions/accept-invitation", json=accept).status_code == 200
    again = gateway.call("POST", "/v1/sessions/accept-invitation", json=accept)
    assert_problem(again, 401, "sign_in_refused")
    late = invite(gateway, clinic, clinic["api_key"], "late@eastside.example")
    clock.advance(hours=73)
    assert_problem(gateway.call("POST", "/v1/sessions/accept-invitation", json={
        "invitation_token": late["invitation_token"], "password": PASSWORD}), 401, "sign_in_refused")


def test_an_agency_manages_only_its_own_people_and_only_with_roles_it_holds(gateway, clinic,
                                                                           gateway_config):
    agency, key = insert_agency(gateway_config, "Westside Clinic", "clinic", ["referrer", "admin"])
    other = {**agency, "api_key": key}
    person = invite(gateway, clinic, clinic["api_key"])
    assert_problem(gateway.call("GET", f"/v1/agencies/{clinic['id']}/people", other["api_key"]),
                   404, "not_found")
    assert_problem(gateway.call("PATCH", f"/v1/agencies/{other['id']}/people/{person['id']}",
                                other["api_key"], json={"status": "deactivated"}), 404, "not_found")
    refused = assert_problem(gateway.call("POST", f"/v1/agencies/{clinic['id']}/people", clinic["api_key"],
                                          json={"name": NAME, "email": "x@eastside.example",
                                                "roles": ["coordinator"]}), 422, "invalid_request")
    assert "roles" in refused["errors"]
    assert_problem(gateway.call("POST", f"/v1/agencies/{other['id']}/people", other["api_key"],
                                json={"name": NAME, "email": EMAIL.upper(), "roles": ["referrer"]}),
                   409, "conflict")


def test_the_operator_invites_its_own_people_who_operate_and_reach_no_participant_data(
        gateway, clock, clinic, gateway_config):
    agency, key = insert_agency(gateway_config, "Network Operations", "operator", ["operator"])
    operator = {**agency, "api_key": key}
    first = enrol(gateway, clock, operator, key, "ops@network.example", ("operator",))
    token = first.session()
    # A signed-in operator invites, lists and manages the operator agency's people.
    second = invite(gateway, operator, token, "ops2@network.example", ("operator",))
    listed = gateway.call("GET", f"/v1/agencies/{operator['id']}/people", token)
    assert listed.status_code == 200, listed.text
    assert {p["email"] for p in listed.json()["items"]} == {"ops@network.example", "ops2@network.example"}
    reinvited = gateway.call("POST", f"/v1/agencies/{operator['id']}/people/{second['id']}/invitation", token)
    assert reinvited.status_code == 201, reinvited.text
    patched = gateway.call("PATCH", f"/v1/agencies/{operator['id']}/people/{second['id']}", token,
                           json={"status": "deactivated"})
    assert patched.status_code == 200 and patched.json()["status"] == "deactivated"
    # Its people can hold only the operator role: never admin, referrer or coordinator.
    for roles in (["admin"], ["referrer"], ["operator", "coordinator"]):
        refused = assert_problem(gateway.call("POST", f"/v1/agencies/{operator['id']}/people", token, json={
            "name": NAME, "email": "ops3@network.example", "roles": roles}), 422, "invalid_request")
        assert "roles" in refused["errors"]
    # The operator's person operates the network and reaches no participant data.
    assert gateway.call("GET", "/v1/agencies", token).status_code == 200
    assert_problem(gateway.call("GET", "/v1/referrals", token), 403, "forbidden")
    assert_problem(gateway.call("GET", "/v1/mentors", token), 403, "forbidden")
    # The operator invites into no other agency, and another agency's admin not into the operator's.
    assert_problem(gateway.call("POST", f"/v1/agencies/{clinic['id']}/people", token, json={
        "name": NAME, "email": "into-clinic@network.example", "roles": ["referrer"]}), 404, "not_found")
    assert_problem(gateway.call("GET", f"/v1/agencies/{clinic['id']}/people", token), 404, "not_found")
    assert_problem(gateway.call("POST", f"/v1/agencies/{operator['id']}/people", clinic["api_key"], json={
        "name": NAME, "email": "into-ops@eastside.example", "roles": ["operator"]}), 404, "not_found")
    clinic_admin = enrol(gateway, clock, clinic, clinic["api_key"], "lead@eastside.example", ("admin",))
    into_operator = gateway.call("POST", f"/v1/agencies/{operator['id']}/people", clinic_admin.session(),
                                 json={"name": NAME, "email": "in-ops@eastside.example", "roles": ["admin"]})
    assert_problem(into_operator, 404, "not_found")


def test_the_operator_manages_a_funders_people_who_read_reports_and_nothing_else(gateway, clock, clinic,
                                                                                  gateway_config):
    _, key = insert_agency(gateway_config, "Network Operations", "operator", ["operator"])
    funder, funder_key = insert_agency(gateway_config, "Recovery Fund", "funder", ["funder"])
    # A funder holds no admin: the operator invites its people, who can hold only the funder role.
    person = enrol(gateway, clock, funder, key, "analyst@fund.example", ("funder",))
    for roles in (["admin"], ["operator"], ["funder", "referrer"]):
        refused = assert_problem(gateway.call("POST", f"/v1/agencies/{funder['id']}/people", key, json={
            "name": NAME, "email": "other@fund.example", "roles": roles}), 422, "invalid_request")
        assert "roles" in refused["errors"]
    # The funder itself manages no one, and its person reaches nothing but reports and the session.
    assert_problem(gateway.call("GET", f"/v1/agencies/{funder['id']}/people", funder_key), 403, "forbidden")
    token = person.session()
    assert gateway.call("GET", "/v1/sessions/current", token).json()["roles"] == ["funder"]
    for method, path in (("GET", "/v1/referrals"), ("GET", "/v1/agencies"), ("GET", "/v1/audit/ledger"),
                         ("GET", f"/v1/agencies/{funder['id']}/keys"), ("GET", "/v1/notification-settings")):
        assert_problem(gateway.call(method, path, token), 403, "forbidden")
    # The operator reaches the people of no other kind of agency.
    assert_problem(gateway.call("GET", f"/v1/agencies/{clinic['id']}/people", key), 404, "not_found")


def test_the_gateway_database_holds_no_name_email_secret_or_token_in_clear(
        gateway, clock, clinic, gateway_config):
    person = enrol(gateway, clock, clinic, clinic["api_key"])
    token = person.session()
    engine = make_engine(gateway_config["DATABASE_URL"])
    try:
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as connection:
            stored = " ".join(str(row) for table in tables.sorted_tables
                              for row in connection.execute(select(table)))
    finally:
        engine.dispose()
    for secret in (EMAIL, EMAIL.split("@")[0], NAME, "Whitfield", PASSWORD, person.secret, token,
                   token.split("_", 2)[2]):
        assert secret not in stored
    assert stored.count("$argon2id$") == 1


def test_someone_who_lost_their_enrolment_is_invited_again_and_the_old_secret_stops_working(
        gateway, clock, clinic):
    first = invite(gateway, clinic, clinic["api_key"])
    lost = gateway.call("POST", "/v1/sessions/accept-invitation", json={
        "invitation_token": first["invitation_token"], "password": PASSWORD}).json()
    again = gateway.call("POST", f"/v1/agencies/{clinic['id']}/people/{first['id']}/invitation",
                         clinic["api_key"])
    assert again.status_code == 201, again.text
    assert again.json()["status"] == "invited"
    stale = pyotp.TOTP(lost["totp_secret"]).at(clock.now)
    assert_problem(gateway.call("POST", "/v1/sessions/totp", json={
        "email": EMAIL, "password": PASSWORD, "code": stale}), 401, "sign_in_refused")
    accepted = gateway.call("POST", "/v1/sessions/accept-invitation", json={
        "invitation_token": again.json()["invitation_token"], "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    person = Person(gateway, clock, EMAIL, accepted.json()["totp_secret"], first["id"])
    clock.advance(seconds=30)
    assert gateway.call("POST", "/v1/sessions/totp", json={
        "email": EMAIL, "password": PASSWORD, "code": person.code()}).status_code == 200
    assert person.sign_in().status_code == 201
    # Once enrolled, there is nothing to invite again.
    assert_problem(gateway.call("POST", f"/v1/agencies/{clinic['id']}/people/{first['id']}/invitation",
                                clinic["api_key"]), 409, "conflict")


def test_a_person_over_their_own_rate_limit_gets_429_while_their_agency_goes_on(
        container_factory, gateway_config, clock, tmp_path):
    config = {**gateway_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
              "PERSON_RATE_LIMIT_BURST": 2, "PERSON_RATE_LIMIT_PER_SECOND": 0.01}
    container_factory(GatewayService, config).start()
    gateway = Api(f"http://{config['WEB_SERVER_ADDRESS']}")
    agency, key = insert_agency(config, "Westside Clinic", "clinic", ["referrer", "admin"])
    person = enrol(gateway, clock, agency, key)
    token = person.session()

    answers = [gateway.call("GET", "/v1/agencies", token) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert_problem(answers[-1], 429, "rate_limited")
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert gateway.call("GET", "/v1/agencies", key).status_code == 200
