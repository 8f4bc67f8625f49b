"""An agency's admin manages its machine keys: list, create, rotate, revoke.

Every change is ledgered by the consent service (``ledger(action, subject, details)``) *before*
the gateway database changes, outside any transaction: a change never happens unledgered, and no
database is held while the consent service answers. A change refused after its row was written
(someone rotated the same key a moment earlier) leaves that row as a record of the attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from gateway.adapters import keys as stored_keys
from gateway.adapters.directory import find_agency
from gateway.auth import Principal, issue_api_key
from services.kit.errors import InvalidRequest, NotFound

Ledger = Callable[[str, str, dict[str, Any]], Any]
# Told of a committed change to keys or agencies (``key_ids=``, ``agency_ids=``), so every gateway
# process drops the cached key rows it makes wrong (``gateway.adapters.key_invalidations``).
Changed = Callable[..., None]
KEYS_PAGE_SIZE = 100


def own_agency(session, caller: Principal, agency_id: str) -> Any:
    """The caller's own agency row: another agency's keys answer as an unknown agency would."""
    if agency_id != caller.agency_id:
        raise NotFound("No such agency.")
    return find_agency(session, agency_id)


def key_roles(asked: Iterable[str] | None, agency_roles: Iterable[str]) -> list[str]:
    """The roles a new key may act in: those asked, all of them within its agency's roles.

    Raises ``InvalidRequest`` naming ``roles`` for a role the agency does not hold.
    """
    held = set(agency_roles)
    roles = set(asked) if asked else held
    beyond = sorted(roles - held)
    if beyond:
        raise InvalidRequest("A key cannot hold a role its agency does not.",
                             errors={"roles": [f"The agency does not hold the role {r}." for r in beyond]})
    return sorted(roles)


def list_keys(uow, caller: Principal, agency_id: str, page: str | None, now: datetime) -> dict[str, Any]:
    """``{"items", "next_page"}``: the agency's keys, never their secrets."""
    with uow:
        agency = own_agency(uow.session, caller, agency_id)
        items, next_page = stored_keys.list_keys(uow.session, agency_id, agency.roles, now,
                                                 after=page, limit=KEYS_PAGE_SIZE)
    return {"items": items, "next_page": next_page}


def create_key(uow, pepper: bytes, ledger: Ledger, caller: Principal, agency_id: str,
               body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A new named key; its ``api_key`` is in this answer only. ``Conflict`` for a name in use."""
    with uow:
        agency = own_agency(uow.session, caller, agency_id)
        roles = key_roles(body.get("roles"), agency.roles)
        stored_keys.ensure_name_free(uow.session, agency_id, body["name"], now)
    issued = issue_api_key(pepper)
    ledger("key.created", issued.key_id, {"agency_id": agency_id, "key_name": body["name"],
                                          "roles": roles})
    with uow:
        stored_keys.ensure_name_free(uow.session, agency_id, body["name"], now)
        stored_keys.insert_key(uow.session, issued, agency_id=agency_id, name=body["name"],
                               roles=roles, now=now)
        uow.commit()
        row = stored_keys.find_agency_key(uow.session, agency_id, issued.key_id)
        return {**stored_keys.key_view(row, now), "api_key": issued.api_key}


def rotate_key(uow, pepper: bytes, ledger: Ledger, caller: Principal, agency_id: str, key_id: str,
               overlap: timedelta, now: datetime, *, changed: Changed) -> dict[str, Any]:
    """A new key with the old one's name and roles; the old key works until ``now + overlap``
    (``changed`` is told of the old key once that is committed).

    Raises ``NotFound`` for a key of another agency, ``Conflict`` for one already revoked,
    replaced or expired.
    """
    with uow:
        agency = own_agency(uow.session, caller, agency_id)
        old = stored_keys.find_agency_key(uow.session, agency_id, key_id)
        stored_keys.ensure_usable(old, now)
    roles = old.roles if old.roles is not None else sorted(agency.roles)
    issued = issue_api_key(pepper)
    ledger("key.rotated", key_id, {"agency_id": agency_id, "key_name": old.name,
                                   "replaced_by": issued.key_id,
                                   "overlap_seconds": int(overlap.total_seconds())})
    with uow:
        old = stored_keys.find_agency_key(uow.session, agency_id, key_id)
        stored_keys.ensure_usable(old, now)
        stored_keys.replace_key(uow.session, old, issued, roles=roles, overlap=overlap, now=now)
        uow.commit()
    changed(key_ids=[key_id])
    with uow:
        row = stored_keys.find_agency_key(uow.session, agency_id, issued.key_id)
        return {**stored_keys.key_view(row, now), "api_key": issued.api_key}


def revoke_key(uow, ledger: Ledger, caller: Principal, agency_id: str, key_id: str,
               now: datetime, *, changed: Changed) -> dict[str, Any]:
    """The key, revoked now: the next request with it is refused, by every gateway process
    (``changed`` is told before this answers). Revoking a revoked key changes nothing and
    ledgers nothing, but tells ``changed`` again: a repeat mends a broadcast that was lost."""
    with uow:
        agency = own_agency(uow.session, caller, agency_id)
        row = stored_keys.find_agency_key(uow.session, agency_id, key_id)
    if row.revoked_at is None:
        ledger("key.revoked", key_id, {"agency_id": agency_id, "key_name": row.name})
        with uow:
            stored_keys.revoke_key(uow.session, key_id, now)
            uow.commit()
    changed(key_ids=[key_id])
    with uow:
        row = stored_keys.find_agency_key(uow.session, agency_id, key_id)
        return stored_keys.key_view(row, now, agency.roles)
