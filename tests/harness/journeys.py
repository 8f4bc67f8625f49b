"""Steps a clinic system and a coordinator take, shared by the end-to-end tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from network.processes import Client
from tests.support import wait_for


def wait(check, what: str, timeout: float = 30.0, interval: float = 0.2):
    """``wait_for`` polling the network over HTTP gently (every 0.2 s by default)."""
    return wait_for(check, timeout=timeout, interval=interval, what=what)


def participant(tag: str) -> dict:
    return {"given_name": f"Canary{tag}", "family_name": f"Zed{tag}", "birth_date": "1990-04-02",
            "phone": "+15555550123", "email": f"canary{tag.lower()}@example.org",
            "preferred_language": "es"}


DATA_CLASSES = ("demographics", "contact", "referral-reason")


def consent_request(discloser_id: str, *, tag: str = "", classes=("peer_group",), agencies=(),
                    data_classes=DATA_CLASSES) -> dict:
    """A complete, valid consent body for a synthetic participant, valid for a year from now
    (by default without ``substance-use``: the network then gets no substance criteria)."""
    tag = tag or uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    return {
        "participant": participant(tag),
        "disclosers": [discloser_id],
        "recipients": {"agencies": list(agencies), "classes": list(classes)},
        "purposes": ["peer-support-referral"],
        "data_classes": list(data_classes),
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "signature": {"signed_by": "participant", "signer_name": f"Canary{tag} Zed{tag}",
                      # Signed now, after the test's peer groups were admitted: a class consent
                      # covers the network's members as of the signature.
                      "signed_at": now.isoformat(), "method": "electronic"},
    }


def grant_consent(referrer: Client, *, tag: str = "", classes=("peer_group",), agencies=(),
                  data_classes=DATA_CLASSES) -> dict:
    return referrer.ok("POST", "/v1/consents",
                       consent_request(referrer.id, tag=tag, classes=classes, agencies=agencies,
                                       data_classes=data_classes))


def referral_request(consent: dict, *, languages=("es", "en"), urgency: str = "routine",
                     **needs) -> dict:
    """A valid referral body under ``consent`` (synthetic reason and needs, ``needs`` overriding)."""
    return {
        "participant_id": consent["participant_id"], "consent_id": consent["id"],
        "reason": "Canary clinical note: peer support after detox discharge", "urgency": urgency,
        "needs": {"languages": list(languages), "pathways": ["12-step"], "lived_experience": ["opioids"],
                  "age": 36, "location": {"lat": 40.71, "lon": -74.0}, "remote_ok": True,
                  "availability": ["mon-evening", "sat-morning"], **needs},
    }


def refer(referrer: Client, consent: dict, *, languages=("es", "en"), urgency: str = "routine",
          **needs) -> dict:
    body = referral_request(consent, languages=languages, urgency=urgency, **needs)
    return referrer.ok("POST", "/v1/referrals", body, headers={"Idempotency-Key": str(uuid.uuid4())})


def mentor(n: int, *, languages=("es", "en"), capacity: int = 3) -> dict:
    return {
        "display_name": f"Mentor {n}", "languages": list(languages), "gender": "female", "age": 40,
        "pathways": ["12-step"], "lived_experience": ["opioids"],
        "location": {"lat": 40.72, "lon": -73.99}, "radius_km": 15, "remote_ok": True,
        "availability": ["mon-evening", "sat-morning"], "capacity": capacity,
        "certified_until": (date.today() + timedelta(days=365)).isoformat(),
    }


def accept_proposal(coordinators: list[Client], referrer: Client, referral_id: str) -> tuple[Client, dict]:
    """Wait for the referral's proposal, accept it, wait for the referral to be accepted."""
    coordinator, match = wait(lambda: proposed_match(coordinators, referral_id), "a proposal")
    coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")
    wait(lambda: referral(referrer, referral_id)["status"] == "accepted", "acceptance")
    return coordinator, match


def proposed_match(coordinators: list[Client], referral_id: str) -> tuple[Client, dict] | None:
    for coordinator in coordinators:
        for match in coordinator.ok("GET", "/v1/matches?status=proposed")["items"]:
            if match["referral_id"] == referral_id:
                return coordinator, match
    return None


def every_page(client: Client, path: str) -> list[dict]:
    """Every item of a paged listing (``{"items", "next_page"}``), following ``page``."""
    items, page = [], None
    while True:
        listing = client.ok("GET", path + (f"{'&' if '?' in path else '?'}page={page}" if page else ""))
        items.extend(listing["items"])
        page = listing["next_page"]
        if not page:
            return items


def referral(referrer: Client, referral_id: str) -> dict:
    return referrer.ok("GET", f"/v1/referrals/{referral_id}")
