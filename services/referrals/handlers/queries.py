"""The referrals service's queries: read inside the unit of work, never commit."""

from __future__ import annotations

from typing import Any

from services.referrals.domain.commands import ListReferrals, ReadReferral
from services.referrals.domain.views import referral_view
from services.referrals.handlers.changes import visible_referral


def read_referral(query: ReadReferral, uow) -> dict[str, Any]:
    """The referral as the agency may see it: the referrer's or the assigned peer group's.

    Raises ``NotFound`` for strangers and unknown ids.
    """
    caller = query.caller
    with uow:
        referral = visible_referral(uow, query.referral_id, caller.agency_id)
    return referral_view(referral, caller.agency_id)


def list_referrals(query: ListReferrals, uow, page_size: int) -> dict[str, Any]:
    """``{"items", "next_page"}``: the agency's own or assigned referrals, newest first.

    Raises ``InvalidRequest`` for a ``page`` cursor this listing did not hand out.
    """
    caller = query.caller
    with uow:
        items, next_page = uow.referrals.page(
            agency_id=caller.agency_id, status=query.status,
            cursor=query.cursor, limit=page_size, filters=query.filters)
    return {"items": [referral_view(r, caller.agency_id) for r in items],
            "next_page": next_page}
