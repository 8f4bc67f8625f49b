"""What the referrals service asks of consent, and the consent client as handlers see it."""

from __future__ import annotations

from typing import Any, Protocol

from services.referrals.domain import Referral

PURPOSE = "peer-support-referral"
# Creating a referral lets the network hold the reason for some peer group the consent covers;
# the handoff gives the assigned peer group what it needs to reach the participant.
REFERRAL_DATA_CLASSES = ["referral-reason"]
HANDOFF_DATA_CLASSES = ["contact", "demographics"]


class ConsentClient(Protocol):
    """The calls of docs/rpc.md (``adapters.consent.ConsentClient`` in the service)."""

    def authorize(self, **request: Any) -> dict[str, Any]: ...
    def disclose(self, **request: Any) -> dict[str, Any]: ...
    def record_access(self, **request: Any) -> dict[str, Any]: ...


def referral_request(referrer_agency_id: str, participant_id: str, consent_id: str) -> dict[str, Any]:
    """What consent is asked before a referral's reason may be held for some peer group."""
    return {"discloser": referrer_agency_id, "recipient": {"class": "peer_group"}, "purpose": PURPOSE,
            "data_classes": REFERRAL_DATA_CLASSES, "participant_id": participant_id,
            "consent_id": consent_id, "asking": referrer_agency_id}


def handoff_request(referral: Referral, agency_id: str | None = None) -> dict[str, Any]:
    """What consent is asked before the participant's details reach a peer group (by default
    the assigned one)."""
    return {"discloser": referral.referrer_agency_id,
            "recipient": {"agency_id": agency_id or referral.assigned_agency_id, "kind": "peer_group"},
            "purpose": PURPOSE, "data_classes": HANDOFF_DATA_CLASSES,
            "participant_id": referral.participant_id, "consent_id": referral.consent_id}
