"""SMART Backend Services through the running gateway: an agency's admin registers a back-end
client, the client trades signed assertions for access tokens that act for its agency, every
faulty assertion is refused with its OAuth error, and a revoked client's token stops at once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.smart import ASSERTION_TYPE
from tests.integration.gateway.agencies import insert_agency

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


def public_jwk(private_key, kid: str) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) \
        else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(private_key.public_key())), "kid": kid}


@pytest.fixture
def gateway_config(gateway_config):
    """The gateway's config, fetching key sets from this machine's loopback (a test's server)."""
    return {**gateway_config, "SMART_JWKS_ALLOW_LOOPBACK": "true"}


@pytest.fixture
def clinic(gateway, gateway_config) -> dict:
    agency, key = insert_agency(gateway_config, "Eastside Clinic", "clinic", ["referrer", "admin"])
    return {**agency, "api_key": key}


@pytest.fixture
def jwks_server():
    """A key set served over HTTP on 127.0.0.1, as an EHR publishes its keys."""
    served = {"keys": [public_jwk(EC_KEY, "ec-2026")]}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server hook's name
            body = json.dumps(served).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


class Ehr:
    """A back-end client: signs assertions and asks the gateway for tokens."""

    def __init__(self, gateway, client_id: str, key=RSA_KEY, kid: str = "rsa-2026", alg: str = "RS384"):
        self.gateway, self.client_id, self.key, self.kid, self.alg = gateway, client_id, key, kid, alg
        self.token_url = gateway.base + "/fhir/auth/token"

    def assertion(self, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url, "exp": now + 240,
                "jti": uuid.uuid4().hex, **claims}
        return jwt.encode(body, self.key, algorithm=self.alg, headers={"kid": self.kid})

    def ask(self, assertion: str | None = None, scope: str = "system/Task.rs", **form):
        fields = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                  "client_assertion": assertion or self.assertion(), "scope": scope, **form}
        return self.gateway.call("POST", "/fhir/auth/token", data=fields)


def refused(response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error, response.text
    assert "access_token" not in response.json()


def test_a_registered_client_gets_tokens_for_its_agency_and_every_faulty_assertion_is_refused(
        gateway, admin_key, clinic, ledger_service):
    clients_path = f"/v1/agencies/{clinic['id']}/smart-clients"
    registered = gateway.call("POST", clients_path, clinic["api_key"], json={
        "name": "eastside-ehr", "jwks": {"keys": [public_jwk(RSA_KEY, "rsa-2026")]},
        "scopes": ["system/Task.read", "system/ServiceRequest.c"]})
    assert registered.status_code == 201, registered.text
    client = registered.json()
    assert client["scopes"] == ["system/ServiceRequest.c", "system/Task.rs"]
    assert client["roles"] == ["referrer"] and client["status"] == "active"
    ehr = Ehr(gateway, client["client_id"])

    granted = ehr.ask(scope="system/Task.rs system/ServiceRequest.c system/Patient.r")
    assert granted.status_code == 200, granted.text
    assert granted.headers["Cache-Control"] == "no-store"
    answer = granted.json()
    assert answer["token_type"] == "bearer" and 0 < answer["expires_in"] <= 300
    assert answer["scope"] == "system/ServiceRequest.c system/Task.rs"
    token = answer["access_token"]

    # The token acts for the clinic, in the client's roles (never its admin's).
    directory = gateway.call("GET", "/v1/agencies", token)
    assert directory.status_code == 200, directory.text
    assert clinic["id"] in {agency["id"] for agency in directory.json()["items"]}
    assert gateway.call("GET", clients_path, token).status_code == 403

    # The same assertion twice, a key the client never registered, a lapsed assertion, a client
    # nobody registered, another audience, a scope it may not have, another grant.
    reused = ehr.assertion()
    assert ehr.ask(reused).status_code == 200
    refused(ehr.ask(reused), 400, "invalid_grant")
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(ehr.ask(Ehr(gateway, client["client_id"], key=impostor).assertion()), 401, "invalid_client")
    refused(ehr.ask(ehr.assertion(exp=int(time.time()) - 5)), 400, "invalid_grant")
    refused(ehr.ask(ehr.assertion(exp=int(time.time()) + 600)), 400, "invalid_grant")
    refused(ehr.ask(Ehr(gateway, str(uuid.uuid4())).assertion()), 401, "invalid_client")
    elsewhere = ehr.assertion(aud="https://elsewhere.example.org/fhir/auth/token")
    refused(ehr.ask(elsewhere), 401, "invalid_client")
    refused(ehr.ask(scope="system/Patient.r system/Task.d"), 400, "invalid_scope")
    refused(ehr.ask(grant_type="password"), 400, "unsupported_grant_type")
    refused(gateway.call("POST", "/fhir/auth/token", json={"grant_type": "client_credentials"}),
            400, "invalid_request")

    listed = gateway.call("GET", clients_path, clinic["api_key"]).json()["items"]
    assert [c["client_id"] for c in listed] == [client["client_id"]]

    revoked = gateway.call("POST", f"{clients_path}/{client['client_id']}/revoke", clinic["api_key"])
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    stopped = gateway.call("GET", "/v1/agencies", token)  # the very next request
    assert stopped.status_code == 401 and stopped.json()["code"] == "unauthorized"
    refused(ehr.ask(), 401, "invalid_client")

    rows = gateway.call("GET", f"/v1/audit/ledger?agency={clinic['id']}", admin_key).json()["items"]
    assert [(r["action"], r["subject"], r["actor"]) for r in rows] == [
        ("smart_client.registered", client["client_id"], "key:default"),
        ("smart_client.revoked", client["client_id"], "key:default")]


def test_a_client_publishing_its_keys_at_a_url_signs_with_es384(gateway, clinic, jwks_server, ledger_service):
    clients_path = f"/v1/agencies/{clinic['id']}/smart-clients"
    bad = gateway.call("POST", clients_path, clinic["api_key"], json={
        "name": "ehr", "jwks_uri": "http://ehr.example.org/jwks", "scopes": ["system/*.rs"]})
    assert bad.status_code == 422 and "jwks_uri" in bad.json()["errors"], bad.text
    registered = gateway.call("POST", clients_path, clinic["api_key"], json={
        "name": "ehr", "jwks_uri": jwks_server, "scopes": ["system/*.rs"]})
    assert registered.status_code == 201, registered.text
    ehr = Ehr(gateway, registered.json()["client_id"], key=EC_KEY, kid="ec-2026", alg="ES384")

    granted = ehr.ask(scope="system/Task.rs")
    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == "system/Task.rs"
    assert gateway.call("GET", "/v1/agencies", granted.json()["access_token"]).status_code == 200
    refused(ehr.ask(Ehr(gateway, ehr.client_id, key=EC_KEY, kid="ec-old", alg="ES384").assertion()),
            401, "invalid_client")
