"""What the referrals service asks of consent, and the consent client as handlers see it."""

from __future__ import annotations

from typing import Any, Protocol

from services.kit.messages import Caller
from services.referrals.domain import Referral

PURPOSE = "peer-support-referral"
REFERRAL_REASON, SUBSTANCE_USE = "referral-reason", "substance-use"
# Creating a referral discloses to the network, as intermediary for some peer group the consent
# covers: the reason it holds, and the criteria that reveal substance use if that class is covered.
REFERRAL_DATA_CLASSES = [REFERRAL_REASON]
NETWORK_OPTIONAL_CLASSES = [SUBSTANCE_USE]
# The handoff gives the assigned peer group what it needs to reach the participant, and, where
# the consent covers them, the reason and needs (and what in them reveals substance use).
HANDOFF_DATA_CLASSES = ["contact", "demographics"]
HANDOFF_OPTIONAL_CLASSES = [REFERRAL_REASON, SUBSTANCE_USE]


class ConsentClient(Protocol):
    """The calls of docs/rpc.md (``adapters.consent.ConsentClient`` in the service)."""

    def authorize(self, **request: Any) -> dict[str, Any]: ...
    def covered_classes(self, **request: Any) -> dict[str, Any]: ...
    def disclose(self, **request: Any) -> dict[str, Any]: ...
    def record_access(self, **request: Any) -> dict[str, Any]: ...


def referral_request(referrer_agency_id: str, participant_id: str, consent_id: str,
                     data_classes: list[str] | None = None) -> dict[str, Any]:
    """What consent is asked before a referral's reason (and ``data_classes``, by default just
    that) may be held by the network for some peer group."""
    return {"discloser": referrer_agency_id, "recipient": {"class": "peer_group"}, "purpose": PURPOSE,
            "data_classes": list(data_classes or REFERRAL_DATA_CLASSES), "participant_id": participant_id,
            "consent_id": consent_id, "asking": referrer_agency_id}


def handoff_request(referral: Referral, agency_id: str | None = None,
                    data_classes: list[str] | None = None) -> dict[str, Any]:
    """What consent is asked before the participant's details (``data_classes``, by default
    contact and demographics) reach a peer group (by default the assigned one)."""
    return {"discloser": referral.referrer_agency_id,
            "recipient": {"agency_id": agency_id or referral.assigned_agency_id, "kind": "peer_group"},
            "purpose": PURPOSE, "data_classes": list(data_classes or HANDOFF_DATA_CLASSES),
            "participant_id": referral.participant_id, "consent_id": referral.consent_id}


def acting_of(caller: Caller) -> dict[str, str]:
    """``{"acting": who}`` for consent's ledger when a person or key of the agency acted."""
    return {"acting": caller.actor} if caller.actor != caller.agency_id else {}


def covered_of(consent: ConsentClient, question: dict[str, Any], required: list[str],
               optional: list[str]) -> tuple[list[str], dict[str, Any]]:
    """The classes to disclose for ``question``: ``required`` (even if not covered, so that the
    disclosure is refused and ledgered with its reason) plus each of ``optional`` the consent
    covers; and consent's answer (``allowed`` peer groups among it)."""
    asked = {name: value for name, value in question.items() if name not in ("asking", "acting")}
    scope = consent.covered_classes(**{**asked, "data_classes": required + optional})
    covered = scope.get("covered") or []
    return required + [dc for dc in optional if dc in covered], scope
