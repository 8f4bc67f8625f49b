"""A coordinator's decisions on the proposals for their mentors, and the list of them.

An accept takes one of the mentor's places atomically (the database decides, so concurrent
accepts never exceed capacity); a decline moves the referral on to the next-best mentor.
"""

from __future__ import annotations

from datetime import datetime

from services.kit.errors import Conflict, InvalidRequest
from services.kit.pages import write_cursor
from services.matching.adapters.registry_cache import CachedRegistry
from services.matching.domain.commands import AcceptMatch, DeclineMatch, ListMatches
from services.matching.domain.match import ACCEPTED, DECLINED, Match, MatchNotOpen
from services.matching.domain.policy import MatchingPolicy
from services.matching.handlers.access import own_match, readable_agency
from services.matching.handlers.matchmaker import Matchmaker, store


def list_matches(query: ListMatches, uow) -> tuple[list[dict], str | None]:
    """A page of the matches of the caller's agency's mentors, newest first, each with the
    referral's needs as matching saw them (``Referral.needs_seen``; None once the referral
    closed), and the next page's cursor (None on the last); ``Forbidden`` for anyone but its
    coordinators and its admin."""
    agency_id = readable_agency(query.caller)
    with uow:
        found = uow.matches.of_agency(agency_id, query.status, after=query.after,
                                      limit=query.limit + 1)
        shown = found[:query.limit]
        referrals = uow.referrals.of_ids(match.referral_id for match in shown)
    more = len(found) > query.limit
    items = [{"match": match, "needs": (referrals[match.referral_id].needs_seen()
                                        if match.referral_id in referrals else None)}
             for match in shown]
    return items, (write_cursor(shown[-1].proposed_at, shown[-1].id) if more else None)


def accept_match(command: AcceptMatch, uow, now: datetime) -> Match:
    """Accept a proposal: the mentor takes one place. Accepting an accepted match again
    answers it unchanged.

    ``NotFound`` for another agency's match; ``Conflict`` when the proposal was decided, expired
    or withdrawn, or when the mentor has no place left or takes no referrals now.
    """
    with uow:
        match = own_match(command.caller, uow, command.match_id)
        if match.status == ACCEPTED:
            return match
        referral = uow.referrals.lock_one(match.referral_id)
        try:
            match.accept(now)
        except MatchNotOpen as exc:
            raise Conflict(str(exc)) from None
        if referral is None or not store(uow, match):
            raise Conflict("This match can no longer be accepted.")
        if not uow.mentors.take_place(match.mentor_id, now.date()):
            raise Conflict("The mentor has no place left, or takes no referrals now.")
        uow.commit()
    return match


def decline_match(command: DeclineMatch, uow, policy: MatchingPolicy, now: datetime,
                  registry: CachedRegistry | None = None) -> Match:
    """Decline a proposal: that mentor is never proposed for the referral again, and the
    referral moves on to the next-best mentor or waits. Declining again answers it unchanged.

    ``NotFound`` for another agency's match; ``Conflict`` when it is no longer proposed;
    ``InvalidRequest`` for a reason code outside the vocabulary.
    """
    with uow:
        match = own_match(command.caller, uow, command.match_id)
        if match.status == DECLINED:
            return match
        referral = uow.referrals.lock_one(match.referral_id)
        try:
            match.decline(command.reason_code, now)
        except MatchNotOpen as exc:
            raise Conflict(str(exc)) from None
        except ValueError as exc:
            raise InvalidRequest(str(exc), errors={"reason_code": [str(exc)]}) from None
        if referral is None or not store(uow, match):
            raise Conflict("This match can no longer be declined.")
        uow.referrals.exclude(referral.id, match.mentor_id, "declined", now)
        matchmaker = Matchmaker(uow, policy, now, registry)
        matchmaker.propose_next(referral)
        matchmaker.fill_waitlist()
        uow.commit()
    return match
