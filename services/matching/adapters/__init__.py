"""What the matching service talks to: its database, through the repositories every unit of
work carries (``uow.referrals``, ``uow.matches``, ``uow.mentors``, ``uow.creations``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.kit.creations import Creations
from services.matching.adapters.matches import MatchRepository
from services.matching.adapters.mentors import MentorRepository
from services.matching.adapters.referrals import ReferralRepository
from services.matching.domain.ladder import DEFAULT_LEVEL_CAPS, LevelCaps


def repositories(session: Session, ring: Any = None,
                 caps: LevelCaps = DEFAULT_LEVEL_CAPS) -> dict[str, Any]:
    """The matching repositories of one transaction (matching seals no columns: no key ring);
    ``caps`` are the caseload caps of the mentor levels."""
    return {"referrals": ReferralRepository(session), "matches": MatchRepository(session),
            "mentors": MentorRepository(session, caps), "creations": Creations(session)}
