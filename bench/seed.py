"""A network to load: referring agencies with consents, peer groups with mentors and webhooks.

Everything is created through the HTTP API, as agencies would. Referrals reuse a pool of
consents (several referrals per participant are allowed, and a consent per referral would
make the benchmark mostly about granting consents). Mentors are added as places run out:
an open proposal holds one of its mentor's places, and the benchmark never accepts any.
"""

from __future__ import annotations

import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.load import Request
from network.processes import Client, Network

REFERRERS = 20
CONSENTS_PER_REFERRER = 5
PEER_GROUPS = 10
MENTOR_CAPACITY = 50  # the API's maximum
PATHWAYS = ("12-step", "secular", "faith-based", "medication-assisted")
LIVED = ("opioids", "alcohol", "stimulants")
SLOTS = ("mon-evening", "tue-evening", "wed-evening", "sat-morning", "sun-afternoon")
_KINDS = ("hospital", "clinic", "sober_living")


@dataclass
class SeededNetwork:
    """Agencies and what the load needs of them; ``places`` is how many proposals fit."""

    admin: Client
    referrers: list[Client]
    consents: list[tuple[Client, dict]]
    peer_groups: list[Client]
    mentors: int = 0
    places: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(20261101))


def _consent(referrer: Client, n: int) -> dict:
    now = datetime.now(UTC)
    return referrer.ok("POST", "/v1/consents", {
        "participant": {"given_name": f"Bench{n}", "family_name": "Participant",
                        "birth_date": "1988-03-14", "phone": "+15555550100",
                        "email": f"bench{n}@example.org", "preferred_language": "en"},
        "disclosers": [referrer.id], "recipients": {"agencies": [], "classes": ["peer_group"]},
        "purposes": ["peer-support-referral"], "data_classes": ["demographics", "contact", "referral-reason"],
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
        "signature": {"signed_by": "participant", "signer_name": f"Bench{n} Participant",
                      # Signed now, after the peer groups were admitted: a class consent covers
                      # the network's members as of the signature.
                      "signed_at": now.isoformat(), "method": "electronic"},
    })


def mentor_body(n: int, rng: random.Random) -> dict:
    """A mentor who fits the benchmark's referrals, with varied soft factors so picks spread."""
    return {
        "display_name": f"Mentor {n}", "languages": ["en", "es"] if n % 3 else ["en"],
        "gender": rng.choice(("female", "male")), "age": rng.randint(25, 65),
        "pathways": rng.sample(PATHWAYS, 2), "lived_experience": rng.sample(LIVED, 2),
        "location": {"lat": 40.70 + rng.uniform(-0.1, 0.1), "lon": -74.0 + rng.uniform(-0.1, 0.1)},
        "radius_km": 25, "remote_ok": True, "availability": rng.sample(SLOTS, 3),
        "capacity": MENTOR_CAPACITY, "certified_until": (date.today() + timedelta(days=365)).isoformat(),
    }


def seed(net: Network, webhook_url: str, places: int) -> SeededNetwork:
    """Create the agencies, consents, webhooks and enough mentors for ``places`` proposals."""
    admin = Client(net.base_url, net.create_operator())

    def agency(name: str, kind: str, role: str) -> Client:
        created = admin.ok("POST", "/v1/agencies", {"name": name, "kind": kind, "roles": [role]})
        return Client(net.base_url, created)

    with ThreadPoolExecutor(8) as pool:
        referrers = list(pool.map(lambda i: agency(f"Referrer {i}", _KINDS[i % 3], "referrer"),
                                  range(REFERRERS)))
        peer_groups = list(pool.map(lambda i: agency(f"Peer group {i}", "peer_group", "coordinator"),
                                    range(PEER_GROUPS)))
        settings = lambda g: {"webhook_url": f"{webhook_url}/{g.id}", "language": "en"}  # noqa: E731
        list(pool.map(lambda g: g.ok("PUT", "/v1/notification-settings", settings(g)), peer_groups))
        pairs = [(r, i * CONSENTS_PER_REFERRER + j) for i, r in enumerate(referrers)
                 for j in range(CONSENTS_PER_REFERRER)]
        consents = list(pool.map(lambda p: (p[0], _consent(*p)), pairs))
    seeded = SeededNetwork(admin, referrers, consents, peer_groups)
    ensure_places(seeded, places)
    return seeded


def ensure_places(seeded: SeededNetwork, places: int) -> None:
    """Add mentors, round robin over the peer groups, until ``places`` proposals fit."""
    needed = max(0, -(-(places - seeded.places) // MENTOR_CAPACITY))
    numbers = range(seeded.mentors, seeded.mentors + needed)
    bodies = [(seeded.peer_groups[n % len(seeded.peer_groups)], mentor_body(n, seeded.rng)) for n in numbers]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: p[0].ok("POST", "/v1/mentors", p[1]), bodies))
    seeded.mentors += needed
    seeded.places += needed * MENTOR_CAPACITY


def referral_request(seeded: SeededNetwork, i: int) -> Request:
    """Referral ``i``: from the consents round robin, with its own Idempotency-Key."""
    referrer, consent = seeded.consents[i % len(seeded.consents)]
    body: dict[str, Any] = {
        "participant_id": consent["participant_id"], "consent_id": consent["id"],
        "reason": "peer support after detox discharge", "urgency": "routine",
        "needs": {"languages": ["en"], "pathways": [PATHWAYS[i % 4]], "lived_experience": [LIVED[i % 3]],
                  "age": 25 + i % 40, "location": {"lat": 40.71, "lon": -74.0}, "remote_ok": True,
                  "availability": [SLOTS[i % 5], SLOTS[(i + 2) % 5]]},
    }
    headers = {"Authorization": f"Bearer {referrer.agency['api_key']}", "Idempotency-Key": str(uuid.uuid4())}
    return Request("POST", "/v1/referrals", json.dumps(body).encode(), headers)
