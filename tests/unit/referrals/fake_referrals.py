"""Referrals kept in memory, behaving as ``ReferralRepository`` does for the handlers."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.kit.errors import Conflict, InvalidRequest
from services.kit.vocabulary import FINAL_REFERRAL_STATUSES
from services.referrals.domain import Referral
from services.referrals.domain.filters import ReferralFilters

_CURSOR = "after:"


class FakeReferrals:
    """Stores copies, so a change reaches the store only through ``add`` or ``save``.

    Like the real repository it remembers the version of each copy it handed out and refuses
    a ``save`` over a newer one with ``Conflict``, and a closed handoff drops its packet.
    """

    def __init__(self) -> None:
        self._stored: dict[str, tuple[int, Referral]] = {}
        self._loaded: weakref.WeakKeyDictionary[Referral, int] = weakref.WeakKeyDictionary()
        self._packets: dict[str, dict[str, Any]] = {}
        self._endings: dict[str, tuple[str, str, dict[str, Any]]] = {}  # event id → (consent, type, payload)
        self.held: list[str] = []

    def add(self, referral: Referral) -> None:
        assert referral.id not in self._stored, "a referral is added once"
        self._stored[referral.id] = (1, _copy(referral))
        self._loaded[referral] = 1

    def get(self, referral_id: str) -> Referral | None:
        if referral_id not in self._stored:
            return None
        version, referral = self._stored[referral_id]
        loaded = _copy(referral)
        self._loaded[loaded] = version
        return loaded

    def save(self, referral: Referral) -> None:
        version = self._loaded[referral]
        if self._stored[referral.id][0] != version:
            raise Conflict("The referral changed meanwhile; try again.")
        self._stored[referral.id] = (version + 1, _copy(referral))
        self._loaded[referral] = version + 1
        if not referral.handoff_open:
            self._packets.pop(referral.id, None)

    def relying_on(self, consent_id: str) -> list[Referral]:
        return [self.get(i) for i, (_, r) in sorted(self._stored.items())
                if r.consent_id == consent_id and r.status not in FINAL_REFERRAL_STATUSES]

    def hold_consent(self, consent_id: str) -> None:
        self.held.append(consent_id)

    def remember_ending(self, event_id: str, event_type: str, payload: dict[str, Any],
                        occurred_at) -> None:
        self._endings.setdefault(event_id, (payload["consent_id"], event_type, dict(payload)))

    def endings_of(self, consent_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(t, p) for c, t, p in self._endings.values() if c == consent_id]

    def with_external_id(self, referrer_agency_id: str, external_id: str,
                         system: str | None) -> str | None:
        return next((i for i, (_, r) in self._stored.items()
                     if r.referrer_agency_id == referrer_agency_id and r.external_id == external_id
                     and r.external_id_system == system), None)

    def page(self, *, agency_id: str | None, status: str | None, cursor: str | None,
             limit: int, filters: ReferralFilters | None = None) -> tuple[list[Referral], str | None]:
        newest_first = sorted((r for _, r in self._stored.values()),
                              key=lambda r: (r.history[0].at, r.id), reverse=True)
        filters = filters or ReferralFilters()
        mine = [r for r in newest_first
                if (agency_id is None or agency_id in (r.referrer_agency_id, r.assigned_agency_id))
                and (status is None or r.status == status) and filters.matches(r, agency_id)]
        start = 0
        if cursor is not None:
            ids = [r.id for r in mine]
            last = cursor.removeprefix(_CURSOR)
            if not cursor.startswith(_CURSOR) or last not in ids:
                raise InvalidRequest("Invalid page.", errors={"page": ["Not a page of this listing."]})
            start = ids.index(last) + 1
        page = mine[start:start + limit]
        more = len(mine) > start + limit
        return [self.get(r.id) for r in page], f"{_CURSOR}{page[-1].id}" if more else None

    def store_handoff(self, referral_id: str, agency_id: str, disclosure: Mapping[str, Any],
                      at: datetime) -> None:
        self._packets[referral_id] = {
            "referral_id": referral_id, "agency_id": agency_id,
            "participant": dict(disclosure["participant"]), "consent": disclosure["consent"],
            "redisclosure_notice": disclosure["redisclosure_notice"],
            "decision_id": disclosure.get("decision_id"),
            "data_classes": disclosure.get("data_classes"), "disclosed_at": at}

    def handoff(self, referral_id: str) -> dict[str, Any] | None:
        packet = self._packets.get(referral_id)
        return copy.deepcopy(packet) if packet else None

    def all(self) -> list[Referral]:
        """Every stored referral (a test's view of the table)."""
        return [_copy(r) for _, r in self._stored.values()]


def _copy(referral: Referral) -> Referral:
    copied = copy.deepcopy(referral)
    copied.events = []  # recorded events leave with the unit of work, never with the row
    return copied
