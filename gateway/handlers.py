"""What the gateway does itself, beyond passing requests on: agencies, recipient kinds, dead
letters, and the ledger export streamed page by page.

Changes to agencies are ledgered by the consent service first, as key changes are
(``gateway/keys.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from gateway.adapters import directory
from gateway.adapters.stores import agency_kinds, agency_names, find_agency
from gateway.adapters.stores import create_agency as insert_agency
from gateway.auth import Principal
from gateway.keys import Changed, Ledger
from services.kit import broker, deadletters
from services.kit.creations import CreatedMeanwhile, Creation, earlier_object, record_creation
from services.kit.errors import Conflict, InvalidRequest, NotFound
from services.kit.vocabulary import OPERATOR

DIRECTORY_PAGE_SIZE = 100
DEAD_LETTERS_SHOWN = 100


def create_agency(uow, pepper: bytes, ledger: Ledger, body: dict[str, Any],
                  creation: Creation | None) -> dict[str, Any]:
    """Register an agency and issue its API key (returned once, stored only as a digest).

    Admitting an agency (a peer group joining the network, say) is ledgered first. With an
    Idempotency-Key (``creation``) one agency is registered per key; a repeat answers the agency
    that key registered *without* ``api_key``: the key is shown once, and only its digest is
    kept. Raises ``Conflict`` for a key used with another request.
    """
    with uow:
        earlier = earlier_object(uow, creation)
        if earlier is not None:
            return find_agency(uow.session, earlier)
    agency_id = str(uuid.uuid4())
    ledger("agency.created", agency_id, {"kind": body["kind"], "roles": sorted(set(body["roles"]))})
    try:
        with uow:
            agency, api_key = insert_agency(uow.session, pepper, name=body["name"], kind=body["kind"],
                                            roles=body["roles"], agency_id=agency_id)
            record_creation(uow, creation, agency["id"], agency["created_at"])
            uow.commit()
    except CreatedMeanwhile:
        with uow:
            return find_agency(uow.session, earlier_object(uow, creation))
    return {**agency, "api_key": api_key}


def list_agencies(uow, caller: Principal, page: str | None) -> dict[str, Any]:
    """``{"items", "next_page"}``: every agency with its status for the operator; the active
    agencies' names and kinds for everyone else, so ids in audit listings read as names."""
    full = caller.kind == OPERATOR
    with uow:
        rows, next_page = directory.list_agencies(uow.session, active_only=not full, after=page,
                                                  limit=DIRECTORY_PAGE_SIZE)
    return {"items": [directory.agency_view(row, full=full) for row in rows], "next_page": next_page}


def set_agency_status(uow, ledger: Ledger, caller: Principal, agency_id: str, status: str,
                      now: datetime, *, changed: Changed) -> dict[str, Any]:
    """Deactivate (``deactivated``: every key of the agency is refused from its next request, by
    every gateway process) or reactivate (``active``) an agency; ledgered when it changes anything.
    ``changed`` is told of the agency before this answers, even when nothing changed (a repeat
    mends a broadcast that was lost).

    Raises ``NotFound`` for an unknown agency and ``Conflict`` when the operator would
    deactivate its own agency (nobody could reactivate it).
    """
    if agency_id == caller.agency_id and status != "active":
        raise Conflict("The operator cannot deactivate its own agency.")
    with uow:
        row = directory.find_agency(uow.session, agency_id)
    if row.status != status:
        action = "agency.reactivated" if status == "active" else "agency.deactivated"
        ledger(action, agency_id, {"kind": row.kind})
        with uow:
            directory.set_status(uow.session, agency_id, status, now)
            uow.commit()
    changed(agency_ids=[agency_id])
    with uow:
        return directory.agency_view(directory.find_agency(uow.session, agency_id), full=True)


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


def dead_letters(amqp_uri: str) -> dict[str, Any]:
    """``{"items", "total"}``: the oldest ``DEAD_LETTERS_SHOWN`` parked events, as summaries
    (never their bodies), and how many are parked. Broker errors propagate (503)."""
    with broker.connect(amqp_uri) as connection:
        letters = deadletters.list_dead_letters(connection)
    return {"items": [letter.summary() for letter in letters[:DEAD_LETTERS_SHOWN]],
            "total": len(letters)}


def replay_dead_letter(amqp_uri: str, event_id: str) -> dict[str, Any]:
    """Send the letters parked for ``event_id`` back to their consumers (attempts reset).

    Raises ``Conflict`` when the letter is unreadable (it stays parked: its body would be parked
    again, or worse, run) and ``NotFound`` when nothing is parked under that id.
    """
    with broker.connect(amqp_uri) as connection:
        done = deadletters.replay(connection, amqp_uri, event_ids={event_id})
    if done.refused and not done.replayed:
        raise Conflict("This dead letter is unreadable and stays parked.")
    if not done.replayed:
        raise NotFound("No such dead letter.")
    return {"replayed": [letter.summary() for letter in done.replayed]}
