"""Who the participant's mentor is, and who supervises them, as the assigned peer group sees it.

Referrals knows the accepted match of a referral (its ``match.mentor_id``), matching the mentor's
``supervisor`` (a person id of the peer group or a name-free reference). Both are read as the
peer group itself, through the same object checks as its own reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.kit.errors import NotFound


@dataclass(frozen=True)
class AssignedMentor:
    mentor_id: str
    supervisor: str | None


class MentorDirectory:
    def __init__(self, referrals: Any, matching: Any) -> None:
        self._referrals = referrals
        self._matching = matching

    def assigned(self, agency_id: str, referral_id: str) -> AssignedMentor | None:
        """The referral's mentor of ``agency_id`` with their supervisor; None when the referral
        has no accepted mentor of that peer group (any transport failure is raised)."""
        caller = {"agency_id": agency_id, "kind": "peer_group", "roles": ["coordinator"]}
        try:
            referral = self._referrals.get(caller, referral_id)
        except NotFound:
            return None
        match = referral.get("match") or {}
        mentor_id = match.get("mentor_id")
        if not mentor_id or match.get("status") != "accepted":
            return None
        page = None
        while True:
            listing = self._matching.list_mentors(caller, {"page": page} if page else None)
            for mentor in listing["items"]:
                if mentor["id"] == mentor_id:
                    return AssignedMentor(mentor_id, mentor.get("supervisor"))
            page = listing.get("next_page")
            if not page:
                return AssignedMentor(mentor_id, None)
