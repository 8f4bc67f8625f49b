"""A reference model of consent, written from the rules in plain words and independently of the
domain code, for the stateful property in ``test_consent_stateful.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import strategies as st

# Recipient agencies; a small pool, so that names and classes overlap often.
AGENCIES = {"peer-1": "peer_group", "peer-2": "peer_group", "clinic-2": "clinic",
            "sober-1": "sober_living"}
DISCLOSERS = ["hospital-1", "clinic-1", "clinic-9"]
PARTICIPANTS = ["participant-1", "participant-2"]
START = datetime(2026, 11, 1, tzinfo=UTC)
PERSON = {"given_name": "Ana", "family_name": "Ruiz", "birth_date": "1990-04-02",
          "preferred_language": "es"}


@dataclass
class Reference:
    """What one consent should allow, kept as plain sets."""

    participant: str
    disclosers: set[str]
    agencies: set[str]
    classes: set[str]
    purposes: set[str]
    data_classes: set[str]
    starts: datetime
    ends: datetime | None
    ends_with_treatment: bool
    status: str = "active"
    changes: int = 0
    taken_agencies: set[str] = field(default_factory=set)
    taken_classes: set[str] = field(default_factory=set)

    def lapsed(self, now: datetime) -> bool:
        return self.ends is not None and now >= self.ends

    def revocable(self, now: datetime) -> bool:
        return self.status == "active" and not self.lapsed(now)

    def take(self, agencies: set[str], classes: set[str]) -> None:
        """Revocation: these recipients go; with nobody left, the whole consent goes."""
        self.agencies, self.taken_agencies = self.agencies - agencies, self.taken_agencies | agencies
        self.classes, self.taken_classes = self.classes - classes, self.taken_classes | classes
        self.status = "active" if self.agencies or self.classes else "revoked"
        self.changes += 1

    def expire(self) -> None:
        self.status, self.changes = "expired", self.changes + 1

    def problems(self, discloser, recipient, purpose, data_classes, participant, now) -> set[str]:
        found = set()
        if participant != self.participant:
            found.add("participant_mismatch")
        if self.status == "revoked":
            found.add("revoked")
        if self.status == "expired" or self.lapsed(now):
            found.add("expired")
        if now < self.starts:
            found.add("not_yet_valid")
        if discloser not in self.disclosers:
            found.add("discloser_not_covered")
        recipient_problem = self.recipient_problem(recipient)
        if recipient_problem:
            found.add(recipient_problem)
        if purpose not in self.purposes:
            found.add("purpose_not_covered")
        if not set(data_classes) <= self.data_classes:
            found.add("data_class_not_covered")
        return found

    def recipient_problem(self, recipient: dict) -> str | None:
        if "class" in recipient:
            kind = recipient["class"]
            if kind in self.classes or any(AGENCIES[a] == kind for a in self.agencies):
                return None
            taken = self.taken_classes | {AGENCIES[a] for a in self.taken_agencies}
        else:
            agency, kind = recipient["agency_id"], recipient["kind"]
            if agency in self.taken_agencies:
                return "revoked_for_recipient"
            if agency in self.agencies or kind in self.classes:
                return None
            taken = self.taken_classes
        return "revoked_for_recipient" if kind in taken else "recipient_not_covered"


def some_of(values, min_size: int = 1, max_size: int | None = None):
    return st.lists(st.sampled_from(sorted(values)), min_size=min_size, max_size=max_size,
                    unique=True)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
