"""FHIR search parameters read into the filters of a referrals listing, and searchset Bundles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from gateway.fhir.references import invalid, parse_token, search_reference

DEFAULT_COUNT = 50
MAX_COUNT = 100
PAGE_PARAM = "_page"
_ALWAYS = ("_count", PAGE_PARAM, "_format")
TASK_PARAMS = ("_id", "focus", "requester", "owner", "status", "_lastUpdated", "identifier",
               "patient", "subject", *_ALWAYS)
SERVICE_REQUEST_PARAMS = ("_id", "identifier", "requester", "performer", "patient", "subject",
                          "_lastUpdated", *_ALWAYS)
_TICK = timedelta(microseconds=1)


def instant(value: str, param: str) -> datetime:
    """A FHIR dateTime (a date, or a time with its zone) as an aware instant."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(param, "Give a FHIR dateTime, e.g. gt2026-12-01T10:00:00Z.") from None
    if found.tzinfo is None:
        raise invalid(param, "Give the time zone (Z or +hh:mm).")
    return found


def last_updated(values: list[str], param: str = "_lastUpdated") -> dict[str, str]:
    """``updated_after``/``updated_before`` from ``gt``, ``ge``, ``lt`` and ``le`` comparisons."""
    found: dict[str, str] = {}
    for value in values:
        prefix, rest = value[:2], value[2:]
        if prefix not in ("gt", "ge", "lt", "le"):
            raise invalid(param, "Compare with gt, ge, lt or le, e.g. gt2026-12-01T10:00:00Z.")
        at = instant(rest, param)
        if prefix == "gt":
            found["updated_after"] = at.isoformat()
        elif prefix == "ge":
            found["updated_after"] = (at - _TICK).isoformat()
        elif prefix == "lt":
            found["updated_before"] = at.isoformat()
        else:
            found["updated_before"] = (at + _TICK).isoformat()
    return found


def _one(args: dict[str, list[str]], name: str) -> str | None:
    values = args.get(name) or []
    if len(values) > 1:
        raise invalid(name, "Give this parameter once.")
    if values and "," in values[0] and name not in ("_lastUpdated",):
        raise invalid(name, "Give one value; several values (a,b) are not supported.")
    return values[0] if values else None


def referral_query(args: dict[str, list[str]], allowed: tuple[str, ...], resource_type: str,
                   ) -> dict[str, Any]:
    """The filters of ``referrals.list`` (and ``id``, ``limit``, ``page``) for a Task or
    ServiceRequest search. Raises ``InvalidRequest`` naming an unknown or malformed parameter."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise invalid(unknown[0], f"{resource_type} is not searched by this parameter here; "
                                  f"use {', '.join(p for p in allowed if p not in _ALWAYS)}.")
    query: dict[str, Any] = {}
    count = _one(args, "_count")
    if count is not None:
        if not count.isdigit() or not 1 <= int(count) <= MAX_COUNT:
            raise invalid("_count", f"Give a number from 1 to {MAX_COUNT}.")
        query["limit"] = int(count)
    page = _one(args, PAGE_PARAM)
    if page is not None:
        query["page"] = page
    for name in ("_id", "focus"):
        value = _one(args, name)
        if value is not None:
            query["id"] = search_reference(value, "ServiceRequest" if name == "focus" else resource_type,
                                           name)
    for name, field in (("requester", "referrer_agency_id"), ("owner", "assigned_agency_id"),
                        ("performer", "assigned_agency_id")):
        value = _one(args, name)
        if value is not None:
            query[field] = search_reference(value, "Organization", name)
    for name in ("patient", "subject"):
        value = _one(args, name)
        if value is not None:
            query["participant_id"] = search_reference(value, "Patient", name)
    status = _one(args, "status")
    if status is not None:
        query["status"] = status
    identifier = _one(args, "identifier")
    if identifier is not None:
        system, value = parse_token(identifier)
        if not value:
            raise invalid("identifier", "Give system|value or value.")
        query["external_id"] = value
        if system:
            query["external_id_system"] = system
    query.update(last_updated(args.get("_lastUpdated") or []))
    return query


def searchset(base: str, path: str, resources: list[dict[str, Any]], args: dict[str, list[str]],
              next_page: str | None) -> dict[str, Any]:
    """A searchset Bundle of ``resources`` with its self link and, when there is more, next."""
    self_args = [(k, v) for k, values in sorted(args.items()) for v in values]
    links = [{"relation": "self", "url": _url(base, path, self_args)}]
    if next_page:
        more = [(k, v) for k, v in self_args if k != PAGE_PARAM] + [(PAGE_PARAM, next_page)]
        links.append({"relation": "next", "url": _url(base, path, more)})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links,
                              "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                                         "resource": r, "search": {"mode": "match"}}
                                        for r in resources]}
    if next_page is None and PAGE_PARAM not in args:
        bundle["total"] = len(resources)
    return bundle


def _url(base: str, path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{base}/{path}" + (f"?{urlencode(pairs)}" if pairs else "")
