"""A mentor as the registry keeps them: the matching details plus when they were registered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.matching.domain.model import Mentor


@dataclass(frozen=True)
class RegisteredMentor:
    mentor: Mentor
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return self.mentor.id

    @property
    def agency_id(self) -> str:
        return self.mentor.agency_id

    def view(self) -> dict[str, Any]:
        """The fields a coordinator sees (``MentorResult``)."""
        fields = self.mentor.to_dict()
        fields.pop("agency_kind")
        return {**fields, "effective_capacity": self.mentor.effective_capacity,
                "certified_until": self.mentor.certified_until,
                "created_at": self.created_at, "updated_at": self.updated_at}
