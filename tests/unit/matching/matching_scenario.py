"""Callers, events and a running fake unit of work for matching's handler tests."""

from __future__ import annotations

from typing import Any

from matching_builders import HARBOR, mentor
from matching_fakes import NOW, matching_uow

from services.kit.contract import Event, new_event
from services.kit.messages import Caller
from services.matching import handlers
from services.matching.domain.policy import MatchingPolicy

POLICY = MatchingPolicy()
BRIDGE = "agency-bridge-peers"
COORDINATOR = Caller(HARBOR, "peer_group", frozenset({"coordinator"}))
OTHER_COORDINATOR = Caller(BRIDGE, "peer_group", frozenset({"coordinator"}))
ADMIN = Caller("agency-network-admin", "clinic", frozenset({"admin"}))  # a clinic's admin
HARBOR_ADMIN = Caller(HARBOR, "peer_group", frozenset({"admin"}))
REFERRER = Caller("agency-st-mary", "hospital", frozenset({"referrer"}))


def requested(referral_id: str = "referral-1", *, consent_id: str = "consent-1",
              agencies: tuple[str, ...] = (HARBOR,), urgency: str = "routine", **criteria: Any) -> Event:
    """A ``referral.requested`` event whose default criteria fit ``matching_builders.mentor()``."""
    wanted = {
        "languages": ["es", "en"], "mentor_gender": "female", "mentor_gender_required": False,
        "pathways": ["12-step"], "lived_experience": ["opioids"], "age_band": 35,
        "location": {"lat": 40.71, "lon": -74.0}, "remote_ok": True,
        "availability": ["mon-evening", "sat-morning"], "substance_use_shared": True, **criteria,
    }
    return new_event("referral.requested", {
        "referral_id": referral_id, "referrer_agency_id": REFERRER.agency_id,
        "participant_id": f"participant-{consent_id}", "consent_id": consent_id, "urgency": urgency,
        "allowed": {"agencies": list(agencies), "classes": [], "excluded": []}, "criteria": wanted,
    }, source="referrals")


def status_changed(referral_id: str, to_status: str, from_status: str = "requested") -> Event:
    return new_event("referral.status_changed", {
        "referral_id": referral_id, "referrer_agency_id": REFERRER.agency_id,
        "participant_id": "participant-consent-1", "urgency": "routine", "from_status": from_status,
        "to_status": to_status, "reason_code": "stated"}, source="referrals")


def consent_revoked(revoked: tuple[str, ...], remaining: tuple[str, ...], *, full: bool) -> Event:
    return new_event("consent.revoked", {
        "consent_id": "consent-1", "participant_id": "participant-consent-1",
        "revoked": {"agencies": list(revoked), "classes": []},
        "remaining": {"agencies": list(remaining), "classes": []}, "full": full}, source="consent")


class Network:
    """Matching's handlers on a fake unit of work, with what they published."""

    def __init__(self) -> None:
        self.uow = matching_uow(consumer="matching.test")
        repositories = self.uow.repositories
        self.matches, self.mentors, self.referrals = (
            repositories["matches"], repositories["mentors"], repositories["referrals"])

    def mentor(self, **overrides: Any):
        """Register a mentor directly (with any caseload the builder gives them)."""
        registered = mentor(**overrides)
        self.mentors.put(registered)
        return registered

    def handle(self, event: Event, handler=None) -> bool:
        handler = handler or {"referral.requested": handlers.on_referral_requested,
                              "referral.status_changed": handlers.on_referral_status_changed}.get(
            event.type, handlers.on_consent_ended)
        return self.uow.handle(event, handler, POLICY, NOW)

    def events(self, type_: str, **fields: Any) -> list[dict[str, Any]]:
        """Payloads of committed events of ``type_`` whose fields equal ``fields``'s."""
        return [e.payload for e in self.uow.published if e.type == type_
                and all(e.payload.get(k) == v for k, v in fields.items())]

    def live(self, referral_id: str):
        return self.matches.live([referral_id]).get(referral_id)

    def caseload(self, mentor_id: str) -> int:
        return self.mentors.get(mentor_id).mentor.caseload
