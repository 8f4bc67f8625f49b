"""What callers ask of the matching service, as small imperative messages.

``caller`` is the kit's ``Caller`` (who is asking, as the gateway describes them); handlers make
their object checks with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.kit.creations import Creation
from services.kit.messages import CallerCommand


@dataclass(frozen=True)
class CreateMentor(CallerCommand):
    details: dict[str, Any] = field(hash=False)
    # The request's Idempotency-Key with a digest of the request: one mentor per key.
    creation: Creation | None = None


@dataclass(frozen=True)
class UpdateMentor(CallerCommand):
    mentor_id: str
    changes: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class ListMentors(CallerCommand):
    """A page of the mentors the caller may see (``active`` ones only, or inactive, when given),
    after the ``(created_at, id)`` position ``after``."""

    active: bool | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 100


@dataclass(frozen=True)
class ListMatches(CallerCommand):
    """A page of the matches of the caller's mentors, after the ``(proposed_at, id)`` position."""

    status: str | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 100


@dataclass(frozen=True)
class AcceptMatch(CallerCommand):
    match_id: str


@dataclass(frozen=True)
class DeclineMatch(CallerCommand):
    """``reason_code`` (``STATUS_REASONS``) is kept and published; a coordinator's words never are."""

    match_id: str
    reason_code: str


@dataclass(frozen=True)
class Rebalance:
    """Re-solve the waitlist and every open proposal as one assignment problem."""


@dataclass(frozen=True)
class ExpireProposals:
    """Expire proposals past their ``expires_at``, at most ``batch`` in one transaction."""

    batch: int = 200
