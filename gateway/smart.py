"""SMART Backend Services authorization (HL7 SMART App Launch v2): pure rules, no database.

An EHR back-end registered as a client of an agency (its public keys, the system scopes it may
be granted) asks ``POST /fhir/auth/token`` for an access token with a ``client_credentials`` grant
and a JWT it signed (RS384 or ES384): ``iss`` = ``sub`` = its client id, ``aud`` = the token
endpoint's URL, ``exp`` at most five minutes ahead, a ``jti`` never used before, and ``kid``
naming the key. This module checks such an assertion (``check_assertion``), grants scopes
(``grant_scopes``) and answers whether granted scopes allow an interaction on a FHIR resource
type (``scope_allows``), which the ``/fhir`` routes call.

Scopes are SMART v2 system scopes, ``system/<type or *>.<cruds>`` with the letters in that
order (``system/Task.rs``, ``system/ServiceRequest.c``, ``system/*.cruds``); the v1 forms
``system/Task.read``, ``.write`` and ``.*`` are read as ``rs``, ``cud`` and ``cruds``. Granted
scopes are always answered in the v2 form.

Refusals are OAuth errors (RFC 6749 section 5.2): ``invalid_client`` (401) when the assertion
does not authenticate a live client (unknown or revoked client, ``iss`` and ``sub`` differing,
a signature no registered key verifies, an unknown ``kid``, another audience, an algorithm other
than RS384 and ES384); ``invalid_grant`` (400) when an authenticated assertion may not be used
(expired, ``exp`` more than five minutes ahead, a ``jti`` already used); ``invalid_scope``,
``unsupported_grant_type`` and ``invalid_request`` (400) as their names say.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from gateway.credentials import token_digest

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS384", "ES384")
# The key type (and curve) each algorithm takes.
_KEY_OF_ALGORITHM = {"RS384": ("RSA", None), "ES384": ("EC", "P-384")}
MIN_RSA_BITS = 2048
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
MAX_TOKEN_LIFETIME = timedelta(minutes=5)
MAX_JTI_LENGTH = 255
MAX_ASSERTION_LENGTH = 16 * 1024
INTERACTIONS = "cruds"
# v1 permissions, as v2 letters.
_V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(r"^system/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<perms>c?r?u?d?s?|read|write|\*)$")
TOKEN_PREFIX = "st"
_TOKEN = re.compile(r"^st_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
ACTOR_PREFIX = "smart:"


class OAuthError(Exception):
    """A refusal of the token endpoint, answered as ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description

    @property
    def status(self) -> int:
        return 401 if self.error == "invalid_client" else 400

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


# -- scopes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    resource_type: str  # a FHIR resource type, or "*"
    interactions: str  # letters of "cruds", in that order

    def __str__(self) -> str:
        return f"system/{self.resource_type}.{self.interactions}"

    def covers(self, resource_type: str) -> bool:
        return self.resource_type in ("*", resource_type)


def parse_scope(text: str) -> Scope | None:
    """The system scope ``text`` names (v2, or v1 read/write/*), or None when it is none."""
    found = _SCOPE.match(text or "")
    if not found or not found["perms"]:
        return None
    perms = _V1_PERMISSIONS.get(found["perms"], found["perms"])
    return Scope(found["type"], perms)


def _ordered(letters: Iterable[str]) -> str:
    chosen = set(letters)
    return "".join(letter for letter in INTERACTIONS if letter in chosen)


def canonical_scopes(texts: Iterable[str]) -> list[str]:
    """Scopes in their v2 form, merged per resource type, sorted. ``ValueError`` names the first
    text that is not a system scope."""
    merged: dict[str, set[str]] = {}
    for text in texts:
        scope = parse_scope(text)
        if scope is None:
            raise ValueError(text)
        merged.setdefault(scope.resource_type, set()).update(scope.interactions)
    return sorted(str(Scope(kind, _ordered(letters))) for kind, letters in merged.items())


def grant_scopes(requested: str | None, allowed: Iterable[str]) -> list[str]:
    """The scopes granted for the space-separated ``requested`` within the client's ``allowed``.

    Each requested scope is narrowed to what the allowed scopes cover (``system/*.rs`` asked by a
    client allowed ``system/Task.rs`` grants ``system/Task.rs``); scopes that are not system
    scopes are not granted. Raises ``OAuthError`` ``invalid_request`` when nothing is asked and
    ``invalid_scope`` when nothing asked can be granted.
    """
    names = (requested or "").split()
    if not names:
        raise OAuthError("invalid_request", "The scope parameter is required.")
    permitted = [scope for scope in map(parse_scope, allowed) if scope is not None]
    granted: dict[str, set[str]] = {}
    for asked in filter(None, map(parse_scope, names)):
        for scope in permitted:
            letters = set(asked.interactions) & set(scope.interactions)
            if not letters:
                continue
            if asked.resource_type == "*" or scope.resource_type == asked.resource_type:
                kind = scope.resource_type  # a wildcard narrows to what was allowed
            elif scope.resource_type == "*":
                kind = asked.resource_type
            else:
                continue
            granted.setdefault(kind, set()).update(letters)
    if not granted:
        raise OAuthError("invalid_scope", "None of the requested scopes may be granted to this client.")
    # A wildcard's letters already cover each single type: drop what adds nothing.
    wildcard = granted.get("*", set())
    return sorted(str(Scope(kind, _ordered(letters))) for kind, letters in granted.items()
                  if kind == "*" or not letters <= wildcard)


def scope_allows(scopes: Iterable[str], resource_type: str, interaction: str) -> bool:
    """Whether granted ``scopes`` allow ``interaction`` (one of ``c r u d s``) on ``resource_type``.

    ``scopes`` are as a SMART caller carries them (``caller["scopes"]``); v1 forms count too.
    Raises ``ValueError`` for an interaction that is not one of the five.
    """
    if len(interaction) != 1 or interaction not in INTERACTIONS:
        raise ValueError(f"not a SMART interaction: {interaction!r}")
    return any(scope is not None and scope.covers(resource_type) and interaction in scope.interactions
               for scope in map(parse_scope, scopes))


# -- client keys -----------------------------------------------------------------------------


def public_jwks(jwks: Any) -> dict[str, Any]:
    """``jwks`` checked as a client's public key set: ``{"keys": [...]}``, each key RSA (at least
    2048 bits) or EC P-384 with a unique ``kid``, and no private part.

    Raises ``ValueError`` saying what is wrong.
    """
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValueError("A key set is an object with a non-empty list of keys.")
    kids: set[str] = set()
    for key in jwks["keys"]:
        if not isinstance(key, Mapping):
            raise ValueError("Each key is a JSON Web Key object.")
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 255:
            raise ValueError("Each key needs a kid.")
        if kid in kids:
            raise ValueError(f"The kid {kid} is used twice.")
        kids.add(kid)
        if any(part in key for part in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ValueError(f"The key {kid} carries private material: register public keys only.")
        _loaded(key)
    return {"keys": [dict(key) for key in jwks["keys"]]}


def _loaded(key: Mapping[str, Any]) -> jwt.PyJWK:
    kty, crv = key.get("kty"), key.get("crv")
    if kty == "RSA":
        algorithm = "RS384"
    elif kty == "EC" and crv == "P-384":
        algorithm = "ES384"
    else:
        raise ValueError(f"The key {key.get('kid')} is neither RSA nor EC P-384.")
    if key.get("alg") not in (None, algorithm):
        raise ValueError(f"The key {key.get('kid')} is for {key.get('alg')}, not {algorithm}.")
    try:
        loaded = jwt.PyJWK(dict(key), algorithm)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(f"The key {key.get('kid')} cannot be read.") from exc
    if kty == "RSA" and loaded.key.key_size < MIN_RSA_BITS:
        raise ValueError(f"The key {key.get('kid')} is shorter than {MIN_RSA_BITS} bits.")
    return loaded


def key_for(jwks: Mapping[str, Any], kid: str, algorithm: str) -> jwt.PyJWK | None:
    """The key of ``jwks`` named ``kid`` that fits ``algorithm``, or None."""
    kty, crv = _KEY_OF_ALGORITHM[algorithm]
    for key in jwks.get("keys", []):
        if isinstance(key, Mapping) and key.get("kid") == kid and key.get("kty") == kty \
                and (crv is None or key.get("crv") == crv):
            try:
                return _loaded(key)
            except ValueError:
                return None
    return None


# -- assertions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assertion:
    """What an assertion's header and claims say, before its signature is checked."""

    client_id: str
    kid: str
    algorithm: str


@dataclass(frozen=True)
class CheckedAssertion:
    client_id: str
    jti: str
    expires_at: datetime


def check_request(form: Mapping[str, str]) -> Assertion:
    """The token request's grant and assertion parameters, checked; what the assertion claims to
    be (unverified). Raises ``OAuthError``."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "The grant_type parameter is required.")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", "Only the client_credentials grant is supported.")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
    assertion = form.get("client_assertion") or ""
    if not assertion or len(assertion) > MAX_ASSERTION_LENGTH:
        raise OAuthError("invalid_request", "A client_assertion (a signed JWT) is required.")
    return read_assertion(assertion)


def read_assertion(assertion: str) -> Assertion:
    """The client, key and algorithm an assertion names, unverified; ``OAuthError`` when it is
    not a JWT of an accepted algorithm naming one client and one key."""
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except (jwt.InvalidTokenError, json.JSONDecodeError, ValueError, TypeError):
        raise OAuthError("invalid_request", "The client_assertion is not a JWT.") from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALGORITHMS:
        raise OAuthError("invalid_client", "The assertion must be signed with RS384 or ES384.")
    if not isinstance(kid, str) or not kid:
        raise OAuthError("invalid_client", "The assertion's header must name its key (kid).")
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or iss != sub:
        raise OAuthError("invalid_client", "The assertion's iss and sub must both be the client id.")
    return Assertion(iss, kid, algorithm)


def check_assertion(assertion: str, claimed: Assertion, jwks: Mapping[str, Any], *, token_url: str,
                    now: datetime) -> CheckedAssertion:
    """Verify ``assertion`` (claiming ``claimed``) with the client's key set at ``now``.

    Checks the signature with the key ``kid`` names, ``aud`` (the token endpoint), ``exp`` (not
    past, at most five minutes ahead), ``nbf`` and ``iat`` when given, and that ``jti`` is
    present. Whether the ``jti`` was used before is the store's to say. Raises ``OAuthError``.
    """
    key = key_for(jwks, claimed.kid, claimed.algorithm)
    if key is None:
        raise OAuthError("invalid_client", "No registered key of this client has that kid.")
    try:
        claims = jwt.decode(assertion, key.key, algorithms=[claimed.algorithm], audience=token_url,
                            options={"require": ["exp", "jti", "aud", "iss", "sub"],
                                     "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.InvalidAudienceError:
        raise OAuthError("invalid_client", "The assertion is meant for another audience.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise OAuthError("invalid_request", f"The assertion has no {exc.claim} claim.") from None
    except jwt.InvalidTokenError:
        raise OAuthError("invalid_client", "The assertion's signature does not verify.") from None
    return _lifetime_checked(claims, claimed, now)


def _lifetime_checked(claims: Mapping[str, Any], claimed: Assertion, now: datetime) -> CheckedAssertion:
    exp = _instant(claims.get("exp"), "exp")
    if exp <= now:
        raise OAuthError("invalid_grant", "The assertion has expired.")
    if exp > now + MAX_ASSERTION_LIFETIME:
        raise OAuthError("invalid_grant", "The assertion's exp is more than five minutes ahead.")
    for claim in ("nbf", "iat"):
        if claim in claims and _instant(claims[claim], claim) > now + timedelta(seconds=60):
            raise OAuthError("invalid_grant", f"The assertion's {claim} is in the future.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH or "\x00" in jti:
        raise OAuthError("invalid_request", "The assertion's jti must be a string of 1-255 characters.")
    return CheckedAssertion(claimed.client_id, jti, exp)


def _instant(value: Any, claim: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OAuthError("invalid_request", f"The assertion's {claim} is not a NumericDate.")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise OAuthError("invalid_request", f"The assertion's {claim} is not a NumericDate.") from None


# -- access tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedAccessToken:
    token_id: str
    token: str  # answered once; never stored or logged
    digest: str


def issue_access_token(pepper: bytes) -> IssuedAccessToken:
    """A new opaque access token ``st_<id>_<secret>``; only its peppered digest is stored."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return IssuedAccessToken(token_id, f"{TOKEN_PREFIX}_{token_id}_{secret}",
                             access_token_digest(token_id, secret, pepper))


def access_token_digest(token_id: str, secret: str, pepper: bytes) -> str:
    return token_digest(TOKEN_PREFIX, token_id, secret, pepper)


def parse_access_token(token: str) -> tuple[str, str] | None:
    """``(token id, secret)`` of a well-formed access token, else None."""
    found = _TOKEN.match(token or "")
    return (found["id"], found["secret"]) if found else None


def is_access_token(token: str) -> bool:
    """Whether a bearer token is shaped as a SMART access token (not an API key or session)."""
    return token.startswith(f"{TOKEN_PREFIX}_")


def token_lifetime(seconds: float) -> timedelta:
    """The configured access-token lifetime, never more than five minutes nor under one second."""
    return min(MAX_TOKEN_LIFETIME, max(timedelta(seconds=1), timedelta(seconds=seconds)))
