"""A small reference model of the consent rules, written apart from the product's code.

The stateful property test (``test_consent_promise_property.py``) keeps one ``ModelConsent`` per
consent it granted, changes it as the product's consents are changed, and asks ``permits`` what
should be allowed at each moment. It reads the rules from the product's documentation (42 CFR
Part 2 as docs/api.md states them), not from ``services.consent.domain``: a slip in either shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

PURPOSE = "peer-support-referral"
PEER_GROUP = "peer_group"
SUBSTANCE_USE = "substance-use"
REFERRAL_REASON = "referral-reason"
# The participant details each data class lets out; nothing else about the person may leave.
FIELDS_OF = {
    "contact": {"phone", "email"},
    "demographics": {"given_name", "family_name", "birth_date", "preferred_language"},
}
# Matching criteria that reveal substance use (docs/events.md, ``referral.requested``).
SUBSTANCE_PATHWAYS = {"medication-assisted"}


@dataclass
class ModelConsent:
    id: str
    participant_id: str
    holder: str
    disclosers: set[str]
    named: dict[str, str]  # agency id -> kind
    classes: set[str]
    purposes: set[str]
    data_classes: set[str]
    valid_from: datetime
    valid_until: datetime
    signed_at: datetime
    include_later_members: bool
    ends_with_treatment: bool
    attested: set[str] = field(default_factory=set)
    revoked_named: set[str] = field(default_factory=set)
    status: str = "active"

    def usable(self, now: datetime) -> bool:
        """Active, signed, inside its period: a change (revoke, attest) is still possible."""
        return self.status == "active" and now < self.valid_until

    def revoke(self, agency_id: str | None = None, kind: str | None = None) -> None:
        """Take one recipient off (by name or class), or every one when neither is given."""
        if agency_id is not None:
            self.named.pop(agency_id)
            self.revoked_named.add(agency_id)
        elif kind is not None:
            self.classes.discard(kind)
        else:
            self.named.clear()
            self.classes.clear()
        if not self.named and not self.classes:
            self.status = "revoked"

    def permits(self, *, discloser: str, recipient: Mapping[str, str], purpose: str,
                data_classes: Iterable[str], participant_id: str, now: datetime,
                admitted_at: Mapping[str, datetime]) -> bool:
        """Whether this consent lets ``discloser`` give ``data_classes`` to ``recipient`` now."""
        if self.status != "active" or participant_id != self.participant_id:
            return False
        if not (max(self.valid_from, self.signed_at) <= now < self.valid_until):
            return False
        if discloser not in self.disclosers or discloser not in self.attested:
            return False
        if not self._covers(recipient, admitted_at):
            return False
        return purpose in self.purposes and set(data_classes) <= self.data_classes

    def _covers(self, recipient: Mapping[str, str], admitted_at: Mapping[str, datetime]) -> bool:
        if "class" in recipient:
            # The network as intermediary toward some agency of the kind the consent covers.
            kind = recipient["class"]
            return kind in self.classes or kind in self.named.values()
        agency_id, kind = recipient["agency_id"], recipient["kind"]
        if agency_id in self.revoked_named:
            return False  # "not them" wins over a class that would cover them
        if agency_id in self.named:
            return self.named[agency_id] == kind
        if kind not in self.classes:
            return False
        joined = admitted_at.get(agency_id)
        return self.include_later_members or joined is None or joined <= self.signed_at


def classes_revealed_by_participant(participant: Mapping[str, str]) -> set[str]:
    """The data classes a set of released participant details belongs to (all of each)."""
    found = set()
    for name in participant:
        owners = [dc for dc, names in FIELDS_OF.items() if name in names]
        assert owners, f"{name!r} is no field of any data class: it must never leave"
        found.update(owners)
    return found


def reveals_substance_use(needs_or_criteria: Mapping[str, object]) -> bool:
    """Whether needs (or matching criteria) say anything about the participant's substance use."""
    pathways = set(needs_or_criteria.get("pathways") or ())
    return bool(needs_or_criteria.get("lived_experience")) or bool(pathways & SUBSTANCE_PATHWAYS)
