"""What the gateway does itself, beyond passing requests on: agencies, recipient kinds, and
the ledger export streamed page by page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gateway.adapters.stores import agency_kinds, find_agency
from gateway.adapters.stores import create_agency as insert_agency
from services.kit.creations import CreatedMeanwhile, Creation, earlier_object, record_creation
from services.kit.errors import InvalidRequest


def create_agency(uow, pepper: bytes, body: dict[str, Any], creation: Creation | None) -> dict[str, Any]:
    """Register an agency and issue its API key (returned once, stored only as a digest).

    With an Idempotency-Key (``creation``) one agency is registered per key; a repeat answers the
    agency that key registered *without* ``api_key``: the key is shown once, and only its digest
    is kept. Raises ``Conflict`` for a key used with another request.
    """
    try:
        with uow:
            earlier = earlier_object(uow, creation)
            if earlier is not None:
                return find_agency(uow.session, earlier)
            agency, api_key = insert_agency(uow.session, pepper, name=body["name"], kind=body["kind"],
                                            roles=body["roles"])
            record_creation(uow, creation, agency["id"], agency["created_at"])
            uow.commit()
    except CreatedMeanwhile:
        with uow:
            return find_agency(uow.session, earlier_object(uow, creation))
    return {**agency, "api_key": api_key}


def with_recipient_kinds(uow, body: dict[str, Any]) -> dict[str, Any]:
    """The consent request with each recipient agency as ``{"id", "kind"}``.

    The consent service decides coverage by class too (e.g. every peer group), so it
    needs each named agency's kind. Raises ``InvalidRequest`` naming unknown agencies.
    """
    recipients = dict(body.get("recipients") or {})
    named = list(recipients.get("agencies") or [])
    disclosers = list(body.get("disclosers") or [])
    with uow:
        kinds = agency_kinds(uow.session, named + disclosers)
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
    return {**body, "recipients": recipients}


# Ledger entries per ``export_ledger`` call: a page is a few hundred KiB on the wire.
EXPORT_PAGE = 1000


def ledger_export_lines(consent, page: int | None = None) -> Iterator[bytes]:
    """The ledger as newline-delimited JSON, one entry per line, read ``page`` entries at a time.

    The first page is read at once, so a consent service that does not answer is an error before
    anything is sent (503); the rest is read as the lines are sent, up to the head the ledger had
    when the export started. A failure past that point ends the stream early and unfinished, so
    the client sees a broken transfer rather than a short ledger.
    """
    page = page or EXPORT_PAGE
    first = consent.export_ledger(None, page, None)
    head = first["head"]

    def lines() -> Iterator[bytes]:
        current = first
        while True:
            items = current["items"]
            yield "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()
            if len(items) < page or items[-1]["seq"] >= head:
                return
            current = consent.export_ledger(items[-1]["seq"], page, head)

    return lines()
