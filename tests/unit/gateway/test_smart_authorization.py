"""SMART Backend Services rules: system scopes granted and checked, client key sets, and the client
assertion's checks (signature, key, audience, lifetime, algorithm)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway import smart
from gateway.adapters.jwks import JwksCache, JwksUnavailable, url_problem
from gateway.auth import Principal
from gateway.problems import EXPECTED_EXCEPTIONS, problem_response
from gateway.smart import OAuthError

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TOKEN_URL = "https://api.example.org/fhir/auth/token"
CLIENT = "5b0f6a51-6c4e-4d5e-9c1a-0d6f8f1e2a33"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


def public_jwk(private_key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key())
                     if isinstance(private_key, rsa.RSAPrivateKey)
                     else jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid}


JWKS = {"keys": [public_jwk(RSA_KEY, "rsa-1"), public_jwk(EC_KEY, "ec-1")]}


def assertion(key=RSA_KEY, *, alg: str = "RS384", kid: str = "rsa-1", **claims) -> str:
    body = {"iss": CLIENT, "sub": CLIENT, "aud": TOKEN_URL,
            "exp": int((NOW + timedelta(minutes=4)).timestamp()), "jti": uuid.uuid4().hex, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg,
                      headers={"kid": kid})


def checked(token: str, jwks: dict = JWKS):
    return smart.check_assertion(token, smart.read_assertion(token), jwks, token_url=TOKEN_URL, now=NOW)


def refused(error: str, call, *args, **kwargs) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        call(*args, **kwargs)
    assert caught.value.error == error, caught.value.description
    return caught.value


# -- scopes ----------------------------------------------------------------------------------


def test_v2_and_v1_system_scopes_read_as_v2():
    assert str(smart.parse_scope("system/Task.rs")) == "system/Task.rs"
    assert str(smart.parse_scope("system/Task.read")) == "system/Task.rs"
    assert str(smart.parse_scope("system/ServiceRequest.write")) == "system/ServiceRequest.cud"
    assert str(smart.parse_scope("system/*.*")) == "system/*.cruds"
    for wrong in ("patient/Task.rs", "system/Task.sr", "system/Task.", "system/task.rs", "openid",
                  "system/Task.rs?status=ready", "", "system/Task.rs "):
        assert smart.parse_scope(wrong) is None, wrong
    assert smart.canonical_scopes(["system/Task.r", "system/Task.read", "system/ServiceRequest.c"]) == [
        "system/ServiceRequest.c", "system/Task.rs"]
    with pytest.raises(ValueError):
        smart.canonical_scopes(["user/Task.rs"])


def test_only_what_the_client_may_have_is_granted_narrowed_to_it():
    allowed = ["system/Task.rs", "system/ServiceRequest.c"]
    assert smart.grant_scopes("system/Task.rs system/ServiceRequest.c", allowed) == [
        "system/ServiceRequest.c", "system/Task.rs"]
    # Beyond its registration: narrowed, and what is not a system scope is not granted.
    asked = "system/Task.cruds system/Patient.r launch openid"
    assert smart.grant_scopes(asked, allowed) == ["system/Task.rs"]
    assert smart.grant_scopes("system/*.rs", allowed) == ["system/Task.rs"]
    assert smart.grant_scopes("system/Task.read", allowed) == ["system/Task.rs"]
    # A wildcard client is granted the types asked for.
    assert smart.grant_scopes("system/Task.rs system/ServiceRequest.c", ["system/*.cruds"]) == [
        "system/ServiceRequest.c", "system/Task.rs"]
    refused("invalid_scope", smart.grant_scopes, "system/Patient.r system/Task.d", allowed)
    refused("invalid_request", smart.grant_scopes, "  ", allowed)
    refused("invalid_request", smart.grant_scopes, None, allowed)


def test_scope_allows_an_interaction_on_a_resource_type():
    scopes = ["system/Task.rs", "system/ServiceRequest.c"]
    assert smart.scope_allows(scopes, "Task", "r") and smart.scope_allows(scopes, "Task", "s")
    assert not smart.scope_allows(scopes, "Task", "u")
    assert smart.scope_allows(scopes, "ServiceRequest", "c")
    assert not smart.scope_allows(scopes, "ServiceRequest", "r")
    assert not smart.scope_allows(scopes, "Patient", "r")
    assert smart.scope_allows(["system/*.cruds"], "Patient", "d")
    assert smart.scope_allows(["system/Task.read"], "Task", "s")
    assert not smart.scope_allows([], "Task", "r")
    with pytest.raises(ValueError):
        smart.scope_allows(scopes, "Task", "rs")


def test_a_smart_principal_tells_services_its_scopes():
    principal = Principal("a-1", "clinic", frozenset({"referrer"}), actor="smart:emr",
                          scopes=frozenset({"system/Task.rs"}))
    assert principal.as_caller() == {"agency_id": "a-1", "kind": "clinic", "roles": ["referrer"],
                                     "actor": "smart:emr", "scopes": ["system/Task.rs"]}
    assert "scopes" not in Principal("a-1", "clinic", frozenset(), actor="key:default").as_caller()


# -- key sets --------------------------------------------------------------------------------


def test_a_client_registers_public_rsa_or_p384_keys_only():
    assert smart.public_jwks(JWKS) == JWKS
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p256 = ec.generate_private_key(ec.SECP256R1())
    rsa_jwk = JWKS["keys"][0]
    no_kid = {k: v for k, v in rsa_jwk.items() if k != "kid"}
    for wrong in ({"keys": []}, {"keys": [{**private, "kid": "x"}]}, {"keys": [public_jwk(weak, "w")]},
                  {"keys": [public_jwk(p256, "p")]}, {"keys": [no_kid]}, {"keys": [rsa_jwk, rsa_jwk]},
                  {"keys": [{**rsa_jwk, "alg": "RS256"}]},
                  {"keys": [{"kty": "RSA", "kid": "n", "n": "AQAB", "e": "@@"}]}, [], "keys"):
        with pytest.raises(ValueError):
            smart.public_jwks(wrong)


def test_only_https_urls_on_public_hosts_serve_key_sets_unless_loopback_is_allowed():
    assert url_problem("https://ehr.example.org/.well-known/jwks.json", allow_loopback=False) is None
    for wrong in ("http://ehr.example.org/jwks", "https://127.0.0.1/jwks", "https://localhost/jwks",
                  "https://10.0.0.8/jwks", "https://ehr.internal/jwks", "ftp://ehr.example.org/jwks",
                  "https://user:pw@ehr.example.org/jwks", "https://ehr.example.org:x/jwks", "jwks"):
        assert url_problem(wrong, allow_loopback=False) is not None, wrong
    assert url_problem("http://127.0.0.1:8123/jwks", allow_loopback=True) is None
    assert url_problem("http://10.0.0.8/jwks", allow_loopback=True) is not None


def test_a_key_set_host_that_resolves_to_a_private_address_is_not_fetched():
    cache = JwksCache(resolve=lambda host: ["10.1.2.3"])
    with pytest.raises(JwksUnavailable):
        cache.key_set("https://ehr.example.org/jwks", "rsa-1")


# -- the token request and its assertion -------------------------------------------------------


def form(**fields) -> dict:
    return {"grant_type": "client_credentials", "client_assertion_type": smart.ASSERTION_TYPE,
            "client_assertion": assertion(), "scope": "system/Task.rs", **fields}


def test_a_well_formed_request_names_its_client_key_and_algorithm():
    claimed = smart.check_request(form())
    assert claimed == smart.Assertion(CLIENT, "rsa-1", "RS384")
    refused("unsupported_grant_type", smart.check_request, form(grant_type="authorization_code"))
    refused("invalid_request", smart.check_request, form(grant_type=""))
    refused("invalid_request", smart.check_request, form(client_assertion_type="urn:other"))
    refused("invalid_request", smart.check_request, form(client_assertion=""))
    refused("invalid_request", smart.check_request, form(client_assertion="not.a.jwt"))


def test_an_assertion_must_be_rs384_or_es384_naming_its_key_and_one_client():
    hs = jwt.encode({"iss": CLIENT, "sub": CLIENT}, "s" * 32, algorithm="HS256", headers={"kid": "rsa-1"})
    assert refused("invalid_client", smart.read_assertion, hs).status == 401
    rs256 = assertion(alg="RS256")
    refused("invalid_client", smart.read_assertion, rs256)
    refused("invalid_client", smart.read_assertion, jwt.encode({"iss": CLIENT, "sub": CLIENT}, RSA_KEY,
                                                               algorithm="RS384"))  # no kid
    refused("invalid_client", smart.read_assertion, assertion(sub="someone-else"))


def test_a_valid_assertion_of_either_algorithm_is_accepted():
    rs = checked(assertion())
    assert rs.client_id == CLIENT and rs.expires_at == NOW + timedelta(minutes=4) and rs.jti
    es = checked(assertion(EC_KEY, alg="ES384", kid="ec-1"))
    assert es.client_id == CLIENT


def test_a_signature_from_another_key_an_unknown_kid_or_another_audience_is_invalid_client():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused("invalid_client", checked, assertion(other))
    refused("invalid_client", checked, assertion(kid="rsa-2"))
    refused("invalid_client", checked, assertion(EC_KEY, alg="ES384", kid="rsa-1"))  # a key of another type
    refused("invalid_client", checked, assertion(aud="https://elsewhere.example.org/token"))
    assert checked(assertion(aud=[TOKEN_URL, "https://elsewhere.example.org/token"])).client_id == CLIENT


def test_an_expired_or_too_long_assertion_is_invalid_grant():
    refused("invalid_grant", checked, assertion(exp=int(NOW.timestamp())))
    refused("invalid_grant", checked, assertion(exp=int((NOW - timedelta(seconds=30)).timestamp())))
    refused("invalid_grant", checked, assertion(exp=int((NOW + timedelta(minutes=5, seconds=1)).timestamp())))
    assert checked(assertion(exp=int((NOW + timedelta(minutes=5)).timestamp())))
    refused("invalid_grant", checked, assertion(iat=int((NOW + timedelta(minutes=3)).timestamp())))


def test_an_assertion_without_exp_jti_or_aud_is_invalid_request():
    refused("invalid_request", checked, assertion(jti=None))
    refused("invalid_request", checked, assertion(exp=None))
    refused("invalid_request", checked, assertion(aud=None))
    refused("invalid_request", checked, assertion(jti="j" * 256))
    refused("invalid_request", checked, assertion(jti="j\x00"))


def test_access_tokens_are_opaque_and_stored_as_peppered_digests():
    pepper = b"p" * 32
    issued = smart.issue_access_token(pepper)
    assert smart.is_access_token(issued.token)
    token_id, secret = smart.parse_access_token(issued.token)
    assert token_id == issued.token_id and secret not in issued.digest
    assert smart.access_token_digest(token_id, secret, pepper) == issued.digest
    assert smart.access_token_digest(token_id, secret, b"q" * 32) != issued.digest
    assert smart.parse_access_token("rn_" + issued.token[3:]) is None
    assert smart.token_lifetime(900) == timedelta(minutes=5)
    assert smart.token_lifetime(60) == timedelta(minutes=1)


def test_a_refusal_is_an_oauth_error_body_not_a_problem():
    response = problem_response(OAuthError("invalid_client", "No such client."), "req-1")
    assert response.status_code == 401 and response.mimetype == "application/json"
    assert json.loads(response.get_data()) == {"error": "invalid_client",
                                               "error_description": "No such client."}
    assert response.headers["Cache-Control"] == "no-store" and "WWW-Authenticate" in response.headers
    scope = problem_response(OAuthError("invalid_scope", "Nothing may be granted."))
    assert scope.status_code == 400 and json.loads(scope.get_data())["error"] == "invalid_scope"
    assert OAuthError in EXPECTED_EXCEPTIONS
