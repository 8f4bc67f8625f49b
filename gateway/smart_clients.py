"""SMART back-end clients: an agency's admin registers, lists and revokes them; a client trades a
signed assertion for a short-lived access token; a token resolves to the client's agency.

Registration and revocation are ledgered (by the consent service) before they are stored, as key
changes are. Every request with an access token reads the token, its client and its agency afresh,
so a revoked client's tokens, and those of a deactivated agency, are refused from the next request.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from gateway import smart
from gateway.adapters import smart_store as store
from gateway.adapters.jwks import JwksCache, JwksUnavailable, url_problem
from gateway.auth import Principal
from gateway.exceptions import Unauthenticated
from gateway.keys import Ledger, own_agency
from gateway.smart_schemas import CLIENT_ROLES
from services.kit.errors import InvalidRequest

log = logging.getLogger(__name__)

CLIENTS_PAGE_SIZE = 100
_NOT_VALID = "The access token is not valid or has expired."


def client_roles(asked: list[str] | None, agency_roles: list[str]) -> list[str]:
    """The roles a client's tokens act in: those asked (default: the agency's clinical roles),
    each held by its agency. ``InvalidRequest`` naming ``roles`` otherwise."""
    held = set(agency_roles) & set(CLIENT_ROLES)
    roles = set(asked) if asked else held
    beyond = sorted(roles - held)
    if beyond:
        raise InvalidRequest("A client cannot act in a role its agency does not hold.",
                             errors={"roles": [f"The agency does not hold the role {r}." for r in beyond]})
    if not roles:
        raise InvalidRequest("The agency holds no role a back-end client may act in.",
                             errors={"roles": ["A client acts as referrer or coordinator only."]})
    return sorted(roles)


def register_client(uow, ledger: Ledger, caller: Principal, agency_id: str, body: Mapping[str, Any],
                    now: datetime, *, allow_loopback: bool) -> dict[str, Any]:
    """A new client of the caller's agency; ``body`` was loaded by ``SmartClientCreateRequest``."""
    jwks_uri = body.get("jwks_uri")
    if jwks_uri is not None:
        problem = url_problem(jwks_uri, allow_loopback=allow_loopback)
        if problem:
            raise InvalidRequest("The key set URL cannot be used.", errors={"jwks_uri": [problem]})
    jwks = smart.public_jwks(body["jwks"]) if "jwks" in body else None
    scopes = smart.canonical_scopes(body["scopes"])
    with uow:
        agency = own_agency(uow.session, caller, agency_id)
        roles = client_roles(body.get("roles"), agency.roles)
        store.ensure_name_free(uow.session, agency_id, body["name"])
    client_id = str(uuid.uuid4())
    ledger("smart_client.registered", client_id, {"agency_id": agency_id, "client_name": body["name"],
                                                  "scopes": scopes, "roles": roles})
    with uow:
        store.ensure_name_free(uow.session, agency_id, body["name"])
        store.insert_client(uow.session, client_id=client_id, agency_id=agency_id, name=body["name"],
                            jwks=jwks, jwks_uri=jwks_uri, scopes=scopes, roles=roles, now=now)
        uow.commit()
        return store.client_view(store.find_agency_client(uow.session, agency_id, client_id))


def list_clients(uow, caller: Principal, agency_id: str, page: str | None) -> dict[str, Any]:
    """``{"items", "next_page"}``: the agency's clients, revoked ones included."""
    with uow:
        own_agency(uow.session, caller, agency_id)
        items, next_page = store.list_clients(uow.session, agency_id, after=page, limit=CLIENTS_PAGE_SIZE)
    return {"items": items, "next_page": next_page}


def revoke_client(uow, ledger: Ledger, caller: Principal, agency_id: str, client_id: str,
                  now: datetime) -> dict[str, Any]:
    """The client, revoked now; revoking it again changes and ledgers nothing."""
    with uow:
        own_agency(uow.session, caller, agency_id)
        row = store.find_agency_client(uow.session, agency_id, client_id)
    if row.revoked_at is None:
        ledger("smart_client.revoked", client_id, {"agency_id": agency_id, "client_name": row.name})
        with uow:
            store.revoke_client(uow.session, client_id, now)
            uow.commit()
    with uow:
        return store.client_view(store.find_agency_client(uow.session, agency_id, client_id))


def issue_token(uow, pepper: bytes, jwks_cache: JwksCache, form: Mapping[str, str], *, token_url: str,
                lifetime: timedelta, now: datetime) -> dict[str, Any]:
    """The token endpoint: check the grant and the assertion, spend its ``jti``, grant scopes and
    issue an access token. Raises ``smart.OAuthError``."""
    claimed = smart.check_request(form)
    with uow:
        client = store.find_client(uow.session, claimed.client_id)
    if client is None or not client.live:
        raise smart.OAuthError("invalid_client", "No such client, or it was revoked.")
    checked = smart.check_assertion(form["client_assertion"], claimed, _key_set(jwks_cache, client, claimed),
                                    token_url=token_url, now=now)
    scopes = smart.grant_scopes(form.get("scope"), client.scopes)
    if not store.spend_jti(uow, client.client_id, checked.jti, checked.expires_at):
        raise smart.OAuthError("invalid_grant", "This assertion's jti was used already.")
    issued = smart.issue_access_token(pepper)
    with uow:
        store.insert_token(uow.session, token_id=issued.token_id, client_id=client.client_id,
                           digest=issued.digest, scopes=scopes, now=now, expires_at=now + lifetime)
        uow.commit()
    return {"access_token": issued.token, "token_type": "bearer",
            "expires_in": int(lifetime.total_seconds()), "scope": " ".join(scopes)}


def _key_set(jwks_cache: JwksCache, client: store.SmartClient, claimed: smart.Assertion) -> dict[str, Any]:
    if client.jwks is not None:
        return client.jwks
    try:
        return jwks_cache.key_set(client.jwks_uri or "", claimed.kid)
    except JwksUnavailable as exc:
        log.info("client %s: its key set could not be fetched (%s)", client.client_id, exc)
        raise smart.OAuthError("invalid_client", "The client's key set could not be fetched.") from None


def principal_of(uow, pepper: bytes, now: datetime, token: str) -> Principal:
    """The client's agency behind an access token, acting as ``smart:<client name>`` in the
    client's roles, with the granted ``scopes``.

    Raises ``Unauthenticated`` for a malformed, unknown, wrong or expired token, and for one whose
    client is revoked or whose agency is deactivated.
    """
    parsed = smart.parse_access_token(token)
    if parsed is None:
        raise Unauthenticated(_NOT_VALID)
    token_id, secret = parsed
    with uow:
        found = store.find_token(uow.session, token_id)
    expected = found.digest if found else smart.access_token_digest("0" * 16, "", pepper)
    matches = hmac.compare_digest(smart.access_token_digest(token_id, secret, pepper), expected)
    if found is None or not matches or found.expires_at <= now or not found.client.live:
        raise Unauthenticated(_NOT_VALID)
    client = found.client
    return Principal(client.agency_id, client.kind, client.roles,
                     actor=f"{smart.ACTOR_PREFIX}{client.name}", scopes=frozenset(found.scopes))


def purge(uow, now: datetime) -> int:
    """Forget spent assertion ids and access tokens that have expired."""
    with uow:
        purged = store.purge(uow.session, now)
        uow.commit()
    return purged
