"""Which peer groups a referral may reach: the consent's scope, and what is left of it after a
partial revocation (docs/architecture.md, "Consent": partial revocation leaves the rest in force)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.matching.domain.model import PEER_GROUP


def _ids(recipients: Mapping[str, Any] | None, key: str) -> frozenset[str]:
    return frozenset((recipients or {}).get(key) or ())


@dataclass(frozen=True)
class ConsentScope:
    """Peer groups by id or by class, minus agencies taken off the consent by name.

    ``blocked`` wins over a class: an agency named in a revocation stays off even while
    the class ``peer_group`` is still covered, as the referrals service applies it too.
    """

    agencies: frozenset[str] = field(default_factory=frozenset)
    classes: frozenset[str] = field(default_factory=frozenset)
    blocked: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, allowed: Mapping[str, Any] | None, blocked: Iterable[str] = ()) -> ConsentScope:
        """From a ``referral.requested`` ``allowed`` field ({"agencies", "classes"})."""
        blocked = frozenset(blocked)
        return cls(_ids(allowed, "agencies") - blocked, _ids(allowed, "classes"), blocked)

    def covers(self, agency_id: str, kind: str = PEER_GROUP) -> bool:
        return agency_id not in self.blocked and (agency_id in self.agencies or kind in self.classes)

    @property
    def empty(self) -> bool:
        """Nothing left to reach: the referral can no longer be matched."""
        return not self.agencies and not self.classes

    def narrowed(self, revoked: Mapping[str, Any], remaining: Mapping[str, Any]) -> ConsentScope:
        """What both this scope and the consent's ``remaining`` recipients still cover.

        Agencies listed in ``allowed`` are peer groups (referrals sends only those), so a
        remaining class ``peer_group`` keeps them, and a scope by class keeps the remaining
        agencies named by id.
        """
        left_agencies, left_classes = _ids(remaining, "agencies"), _ids(remaining, "classes")
        blocked = self.blocked | _ids(revoked, "agencies")
        agencies = {a for a in self.agencies if a in left_agencies or PEER_GROUP in left_classes}
        if PEER_GROUP in self.classes:
            agencies |= left_agencies
        return ConsentScope(frozenset(agencies) - blocked, self.classes & left_classes, blocked)

    def to_allowed(self) -> dict[str, list[str]]:
        """The ``allowed`` shape of ``referral.requested`` (without the blocked agencies)."""
        return {"agencies": sorted(self.agencies), "classes": sorted(self.classes)}
