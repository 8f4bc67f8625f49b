"""A match: one mentor proposed for one referral, and what became of the proposal.

    proposed --accept--> accepted --withdraw--> withdrawn
       |--decline--> declined   |--expire--> expired   |--withdraw--> withdrawn

An accepted match takes one of its mentor's places until it is *released* (the referral closed
or the match was withdrawn); the place itself is counted by the mentor registry, where the
database keeps ``caseload <= capacity``. Each transition records its event in ``events``
(``MatchV2`` payloads: ids, score and explanation, nothing about a person); whoever stores the
match publishes them in the same transaction. A referral nobody fits gets no match: it waits
(``waitlisted``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.kit.vocabulary import STATUS_REASONS
from services.matching.domain.proposals import Proposal
from services.matching.domain.referral import NO_FITTING_MENTOR, Referral

PROPOSED, ACCEPTED, DECLINED, EXPIRED, WITHDRAWN = (
    "proposed", "accepted", "declined", "expired", "withdrawn")
LIVE = (PROPOSED, ACCEPTED)
EXPIRED_TTL = "ttl"


class MatchNotOpen(Exception):
    """The match was decided, expired or withdrawn: this transition no longer applies."""


@dataclass(frozen=True)
class MatchEvent:
    """An event a transition recorded, to be published with the match's referral as aggregate."""

    type: str
    payload: dict[str, Any]
    aggregate_id: str


def waitlisted(referral: Referral, reason_code: str = NO_FITTING_MENTOR) -> MatchEvent:
    """``match.waitlisted``: no fitting mentor has a place for the referral now."""
    return MatchEvent("match.waitlisted", {
        "referral_id": referral.id, "referrer_agency_id": referral.referrer_agency_id,
        "urgency": referral.urgency, "reason_code": reason_code,
    }, referral.id)


@dataclass(kw_only=True)
class Match:
    id: str
    referral_id: str
    referrer_agency_id: str
    mentor_id: str
    mentor_agency_id: str
    urgency: str
    score: float
    explanation: list[dict[str, Any]]
    proposed_at: datetime
    expires_at: datetime
    status: str = PROPOSED
    decided_at: datetime | None = None
    released_at: datetime | None = None
    reason_code: str | None = None
    events: list[MatchEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def propose(cls, match_id: str, proposal: Proposal, now: datetime, ttl: timedelta) -> Match:
        """A new proposal, open for ``ttl``; records ``match.proposed``."""
        fields = proposal.to_payload_fields()
        match = cls(id=match_id, **fields, proposed_at=now, expires_at=now + ttl)
        match._record("match.proposed")
        return match

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    def is_due(self, now: datetime) -> bool:
        """A proposal nobody decided before ``expires_at``."""
        return self.status == PROPOSED and now >= self.expires_at

    def accept(self, now: datetime) -> bool:
        """Accept an open proposal: True if it changed, False if it was accepted already.

        Raises ``MatchNotOpen`` when declined, withdrawn or expired (also past ``expires_at``
        before the expiry timer saw it). The mentor's place is taken by the registry.
        """
        if self.status == ACCEPTED:
            return False
        if self.status != PROPOSED or self.is_due(now):
            raise MatchNotOpen("This match can no longer be accepted.")
        self._decide(ACCEPTED, now, None)
        return True

    def decline(self, reason_code: str, now: datetime) -> bool:
        """Decline a proposal for ``reason_code`` (``STATUS_REASONS``), which the referrer sees;
        a coordinator's words are never kept. True if it changed, False if declined already.

        Raises ``ValueError`` for an unknown code, ``MatchNotOpen`` when no longer proposed.
        """
        if reason_code not in STATUS_REASONS:
            raise ValueError(f"A decline's reason code is one of: {', '.join(STATUS_REASONS)}.")
        if self.status == DECLINED:
            return False
        if self.status != PROPOSED:
            raise MatchNotOpen("This match can no longer be declined.")
        self._decide(DECLINED, now, reason_code)
        return True

    def expire(self, now: datetime) -> None:
        """A proposal left undecided past ``expires_at``. Raises ``MatchNotOpen`` if not due."""
        if not self.is_due(now):
            raise MatchNotOpen("This proposal is not due to expire.")
        self._decide(EXPIRED, now, EXPIRED_TTL)

    def withdraw(self, reason_code: str, now: datetime) -> bool:
        """Take back a live match for a reason outside the mentor's agency.

        Returns True when this frees the place an accepted match took. Raises ``MatchNotOpen``
        when the match is no longer live.
        """
        if not self.is_live:
            raise MatchNotOpen("This match is no longer live.")
        frees = self.status == ACCEPTED and self.released_at is None
        self._decide(WITHDRAWN, now, reason_code)
        if frees:
            self.released_at = now
        return frees

    def release(self, now: datetime) -> bool:
        """An accepted match stops counting towards its mentor's caseload (its referral closed);
        it stays accepted. True the first time, False when there was nothing to release."""
        if self.status != ACCEPTED or self.released_at is not None:
            return False
        self.released_at = now
        return True

    def _decide(self, status: str, now: datetime, reason_code: str | None) -> None:
        self.status, self.decided_at = status, now
        if reason_code is not None:
            self.reason_code = reason_code
        self._record(f"match.{status}", reason_code)

    def _record(self, type_: str, reason_code: str | None = None) -> None:
        self.events.append(MatchEvent(type_, {
            "match_id": self.id, "referral_id": self.referral_id,
            "referrer_agency_id": self.referrer_agency_id, "mentor_id": self.mentor_id,
            "mentor_agency_id": self.mentor_agency_id, "urgency": self.urgency,
            "score": self.score, "explanation": list(self.explanation),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "reason_code": reason_code,
        }, self.referral_id))
