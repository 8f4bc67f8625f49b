"""What the gateway does itself, beyond passing requests on: agencies and recipient kinds."""

from __future__ import annotations

from typing import Any

from gateway.adapters.stores import agency_kinds, agency_names
from gateway.adapters.stores import create_agency as insert_agency
from services.kit.errors import InvalidRequest


def create_agency(uow, pepper: bytes, body: dict[str, Any]) -> dict[str, Any]:
    """Register an agency and issue its API key (returned once, stored only as a digest)."""
    with uow:
        agency, api_key = insert_agency(uow.session, pepper, name=body["name"], kind=body["kind"],
                                        roles=body["roles"])
        uow.commit()
    return {**agency, "api_key": api_key}


def with_recipient_kinds(uow, body: dict[str, Any]) -> dict[str, Any]:
    """The consent request with each recipient agency as ``{"id", "kind"}``, and the
    registered names of the agencies it names (``agency_names``).

    The consent service decides coverage by class too (e.g. every peer group), so it
    needs each named agency's kind; the summary sent with each disclosure names them.
    Raises ``InvalidRequest`` naming unknown agencies.
    """
    recipients = dict(body.get("recipients") or {})
    named = list(recipients.get("agencies") or [])
    disclosers = list(body.get("disclosers") or [])
    with uow:
        kinds = agency_kinds(uow.session, named + disclosers)
        names = agency_names(uow.session, named + disclosers)
    errors: dict[str, list[str]] = {}
    unknown = [agency for agency in named if agency not in kinds]
    if unknown:
        errors["recipients.agencies"] = [f"Unknown agency: {agency}" for agency in unknown]
    unknown = [agency for agency in disclosers if agency not in kinds]
    if unknown:
        errors["disclosers"] = [f"Unknown agency: {agency}" for agency in unknown]
    if errors:
        raise InvalidRequest("Some agencies named in the consent are not registered.", errors=errors)
    recipients["agencies"] = [{"id": agency, "kind": kinds[agency]} for agency in named]
    return {**body, "recipients": recipients, "agency_names": names}
