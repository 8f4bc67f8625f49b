"""Agencies, requests and an event tap for the referrals integration tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.kit import broker, topology
from services.kit.contract import Event, new_event
from tests.harness.events import EventTap

__all__ = ["EventTap"]

HOSPITAL = {"agency_id": "agency-hospital", "kind": "hospital", "roles": ["referrer"]}
CLINIC = {"agency_id": "agency-clinic", "kind": "clinic", "roles": ["referrer"]}
HARBOR = {"agency_id": "agency-harbor", "kind": "peer_group", "roles": ["coordinator"]}
BEACON = {"agency_id": "agency-beacon", "kind": "peer_group", "roles": ["coordinator"]}
ADMIN = {"agency_id": "agency-network-admin", "kind": "clinic", "roles": ["admin"]}  # another clinic's
OPERATOR = {"agency_id": "agency-operator", "kind": "operator", "roles": ["operator"]}

# Canaries: none of these may ever be found in clear outside the sealed columns.
PARTICIPANT = {"given_name": "Zeferina", "family_name": "Quillfeather", "birth_date": "1988-02-29",
               "phone": "+15555550199", "email": "zq.canary@example.org", "preferred_language": "es"}
REASON = "Quillfeather-canary relapse risk after detox discharge"
CANARIES = ("Zeferina", "Quillfeather", "+15555550199", "zq.canary", "relapse risk")


def grant_request(*, disclosers: list[str] | None = None, purposes: list[str] | None = None,
                  until_treatment_ends: bool = False, data_classes: list[str] | None = None) -> dict:
    """A complete consent covering Harbor by name and every peer group by class."""
    now = datetime.now(UTC)
    ending = ({"expires_on": "end-of-treatment"} if until_treatment_ends
              else {"valid_until": (now + timedelta(days=30)).isoformat()})
    return {**ending,
        "participant": dict(PARTICIPANT),
        "disclosers": disclosers or [HOSPITAL["agency_id"]],
        "recipients": {"agencies": [{"id": HARBOR["agency_id"], "kind": "peer_group"}],
                       "classes": ["peer_group"]},
        "purposes": purposes or ["peer-support-referral"],
        "data_classes": data_classes or ["demographics", "contact", "referral-reason"],
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "signature": {"signed_by": "participant", "signer_name": "Zeferina Quillfeather",
                      "signed_at": (now - timedelta(minutes=30)).isoformat(), "method": "electronic"},
    }


def referral_request(consent: dict[str, Any], reason: str = REASON, **needs: Any) -> dict[str, Any]:
    """The body of ``POST /v1/referrals`` (docs/api.md) for ``consent``, ``needs`` overriding."""
    return {"participant_id": consent["participant_id"], "consent_id": consent["id"],
            "reason": reason, "urgency": "routine",
            "needs": {"languages": ["es", "en"], "mentor_gender": "female", "age": 37,
                      "pathways": ["12-step"], "location": {"lat": 40.71283, "lon": -74.00601},
                      "availability": ["mon-evening"], **needs}}


def publish_match(amqp_uri: str, type_: str, referral: dict[str, Any], *, agency: dict = HARBOR,
                  match_id: str = "match-1") -> Event:
    """Publish a ``match.*`` event as matching would; returns it so it can be sent again."""
    event = new_event(type_, {
        "match_id": match_id, "referral_id": referral["id"],
        "referrer_agency_id": referral["referrer_agency_id"], "mentor_id": "mentor-7",
        "mentor_agency_id": agency["agency_id"], "urgency": "routine", "score": 0.81,
        "explanation": [{"factor": "language", "weight": 0.3, "score": 1.0, "contribution": 0.3}]},
        source="matching")
    redeliver(amqp_uri, event)
    return event


def redeliver(amqp_uri: str, event: Event) -> None:
    broker.publish(amqp_uri, event.to_message(), exchange=topology.EVENTS, routing_key=event.type)
