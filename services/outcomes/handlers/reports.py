"""Reports over the read model, and rebuilding the read model from the event log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.kit.errors import Forbidden, InvalidRequest
from services.kit.messages import Caller
from services.outcomes.domain.disclosure import ReportRequest, report
from services.outcomes.domain.facts import Fact
from services.outcomes.domain.measures import DIMENSIONS, MEASURES, members, month_of
from services.outcomes.domain.projection import consent_ending_row, consent_refusal_row, referral_row

NOTE = ("Every figure describes at least {k} participants. Groups smaller than that are left out of "
        "every figure, totals included; a missing row means fewer than {k}, or none.")


def scope_of(caller: Caller) -> str | None:
    """``None`` for the network's view (funders, the operator); the agency id for an admin's own."""
    if caller.is_funder or caller.is_operator:
        return None
    if caller.is_admin:
        return caller.agency_id
    raise Forbidden("Outcome reports are for funders, agency administrators and the operator.")


def request_of(query: dict[str, Any], k: int, agency_id: str | None) -> ReportRequest:
    filters = {name: frozenset(query[name].split(",")) for name in DIMENSIONS if query.get(name)}
    measures = tuple(query["measure"].split(",")) if query.get("measure") else tuple(MEASURES)
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise InvalidRequest("Unknown measure.",
                             errors={"measure": [f"Not a measure: {', '.join(unknown)}."]})
    first, last = query.get("from_"), query.get("to")
    if first and last and first > last:
        raise InvalidRequest("The months are the wrong way round.", errors={"from": ["After to."]})
    months = (first or "0000-01", last or "9999-12") if (first or last) else None
    return ReportRequest(k=k, months=months, filters=filters, by=query.get("by"), agency_id=agency_id,
                         measures=measures)


def outcome_report(uow, caller: Caller, query: dict[str, Any], k: int, as_of: datetime) -> dict[str, Any]:
    agency_id = scope_of(caller)
    request = request_of(query, k, agency_id)
    with uow:
        referrals, endings = uow.outcomes.referrals(), uow.outcomes.endings()
        refusals = uow.outcomes.refusals()
    tables = report(members(referrals, endings, refusals, as_of), request)
    months = [query.get("from_") or "", query.get("to") or month_of(as_of)]
    return {"k": k, "as_of": as_of, "scope": "agency" if agency_id else "network", "months": months,
            "by": request.by, "filters": {name: sorted(values) for name, values in request.filters.items()},
            "note": NOTE.format(k=k), "tables": tables}


def rebuild(uow, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Replay the event log into fresh read-model tables, in one transaction.

    ``progress(read, total)`` hears how many log rows have been read.
    """
    by_referral: dict[str, list[Fact]] = defaultdict(list)
    endings, refusals = [], []
    with uow:
        total = uow.outcomes.count_events()
        read = 0
        for chunk in uow.outcomes.log():
            for fact in chunk:
                if fact.referral_id:
                    by_referral[fact.referral_id].append(fact)
                elif fact.type in ("consent.revoked", "consent.expired"):
                    endings.append(consent_ending_row(fact))
                elif fact.type == "referral.refused":
                    refusals.append(consent_refusal_row(fact))
            read += len(chunk)
            if progress:
                progress(read, total)
        uow.outcomes.clear_read_model()
        uow.outcomes.put_referrals([referral_row(referral_id, by_referral[referral_id])
                                    for referral_id in sorted(by_referral)])
        uow.outcomes.put_endings(endings)
        uow.outcomes.put_refusals(refusals)
        uow.commit()
    return {"events": total, "referrals": len(by_referral), "consent_endings": len(endings),
            "consent_refusals": len(refusals)}
