"""What callers ask of the matching service, as small imperative messages.

``caller`` is the kit's ``Caller`` (who is asking, as the gateway describes them); handlers make
their object checks with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.kit.messages import Caller


@dataclass(frozen=True)
class CreateMentor:
    caller: Caller
    details: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class UpdateMentor:
    caller: Caller
    mentor_id: str
    changes: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class ListMentors:
    caller: Caller


@dataclass(frozen=True)
class ListMatches:
    caller: Caller
    status: str | None = None


@dataclass(frozen=True)
class AcceptMatch:
    caller: Caller
    match_id: str


@dataclass(frozen=True)
class DeclineMatch:
    """``reason`` is required and never kept: only that there was one."""

    caller: Caller
    match_id: str
    reason: str = field(repr=False)


@dataclass(frozen=True)
class Rebalance:
    """Re-solve the waitlist and every open proposal as one assignment problem."""


@dataclass(frozen=True)
class ExpireProposals:
    """Expire proposals past their ``expires_at``, at most ``batch`` in one transaction."""

    batch: int = 200
