"""A network holding real data, made through the API the way agencies make it.

Every kind of object a route can name exists before the fuzzing starts, in the states that
exercise different code: a referral walked to handoff and completion, one whose first proposal
was declined and moved on to the next mentor, one cancelled by a consent revocation, one still
waiting; webhook deliveries in the delivery log and rows in the audit ledger. Only synthetic
participants ("Canary…") are used, so nothing a failing case prints is anyone's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from network.processes import Client
from tests.harness.journeys import (
    consent_request,
    grant_consent,
    mentor,
    proposed_match,
    refer,
    referral,
    referral_request,
    wait,
)
from tests.support import HttpReceiver

# The object kind a path's ``{id}`` names, by the path's first segments.
PATH_OBJECTS = {
    "/v1/consents/": "consent",
    "/v1/referrals/": "referral",
    "/v1/mentors/": "mentor",
    "/v1/matches/": "match",
    "/v1/participants/": "participant",
}


@dataclass
class World:
    """The populated network: an API key per role, and the ids of every object made."""

    keys: dict[str, str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    # Valid bodies of the creating operations, by operationId: fuzzing mixes them in, so creations
    # succeed and the links from their answers are followed.
    samples: dict[str, dict] = field(default_factory=dict)
    _turns: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, *ids: str) -> None:
        known = self.ids.setdefault(kind, [])
        known.extend(i for i in ids if i not in known)

    def ids_for_path(self, path: str) -> list[str]:
        """The real ids a templated path's ``{id}`` can take (empty for paths without one)."""
        for prefix, kind in PATH_OBJECTS.items():
            if path.startswith(prefix):
                return self.ids.get(kind, [])
        return []

    def next_id_for_path(self, path: str) -> str | None:
        """The real ids of ``path`` in turn (the same order every run), or None if it has none."""
        real = self.ids_for_path(path)
        if not real:
            return None
        turn = self._turns[path] = self._turns.get(path, -1) + 1
        return real[turn % len(real)]


def _walk_to_completion(hospital: Client, peers: list[Client], referral_id: str) -> Client:
    coordinator, match = wait(lambda: proposed_match(peers, referral_id), "a proposal")
    coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")
    wait(lambda: referral(hospital, referral_id)["status"] == "accepted", "acceptance")
    coordinator.ok("GET", f"/v1/referrals/{referral_id}/handoff")
    for status in ("in-progress", "completed"):
        coordinator.ok("POST", f"/v1/referrals/{referral_id}/status", {"status": status})
    return coordinator


def _decline_and_move_on(peers: list[Client], referral_id: str) -> None:
    coordinator, first = wait(lambda: proposed_match(peers, referral_id), "a first proposal")
    coordinator.ok("POST", f"/v1/matches/{first['id']}/decline", {"reason": "mentor is on leave"})

    def next_proposal():
        found = proposed_match(peers, referral_id)
        return found if found and found[1]["id"] != first["id"] else None
    wait(next_proposal, "the next mentor's proposal")


def _revoke_mid_flight(hospital: Client, peers: list[Client], consent: dict, referral_id: str) -> None:
    coordinator, match = wait(lambda: proposed_match(peers, referral_id), "a proposal")
    coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")
    wait(lambda: referral(hospital, referral_id)["status"] == "accepted", "acceptance")
    hospital.ok("POST", f"/v1/consents/{consent['id']}/revoke", {"reason": "participant asked"})
    wait(lambda: referral(hospital, referral_id)["status"] == "cancelled", "the cancellation")


def populate(operator: Client, agencies: dict[str, Client], receiver: HttpReceiver) -> World:
    """Fill the network through HTTP; returns the keys and ids the fuzzing reuses.

    Raises ``AssertionError`` when a step the network must support fails or never completes.
    """
    hospital, clinic = agencies["hospital"], agencies["clinic"]
    peers = [agencies["peers_a"], agencies["peers_b"]]
    for label in ("hospital", "clinic", "peers_a", "peers_b"):
        agencies[label].ok("PUT", "/v1/notification-settings", {
            "webhook_url": f"{receiver.url}/hooks/{label}", "language": "en",
            "quiet_hours": {"start": "23:00", "end": "05:00", "timezone": "America/New_York"}})
    agencies["sober_living"].ok("PUT", "/v1/notification-settings",
                                {"email": "intake@example.org", "language": "es"})
    for n in range(3):
        peers[0].ok("POST", "/v1/mentors", mentor(n))
        peers[1].ok("POST", "/v1/mentors", mentor(100 + n))

    consents = {tag: grant_consent(hospital, tag=f"Contract{tag}") for tag in ("Done", "Declined", "Revoked")}
    consents["Waiting"] = grant_consent(clinic, tag="ContractWaiting", agencies=[peers[1].id])
    done = refer(hospital, consents["Done"])
    coordinator = _walk_to_completion(hospital, peers, done["id"])
    declined = refer(hospital, consents["Declined"])
    _decline_and_move_on(peers, declined["id"])
    revoked = refer(hospital, consents["Revoked"])
    _revoke_mid_flight(hospital, peers, consents["Revoked"], revoked["id"])
    waiting = refer(clinic, consents["Waiting"], languages=("en",))

    wait(lambda: len(receiver.received) >= 3, "webhook deliveries", timeout=45)
    wait(lambda: operator.ok("GET", "/v1/audit/ledger")["items"], "ledger rows")
    # The clinic's administrator, as a key that acts in the admin role only.
    auditor = clinic.ok("POST", f"/v1/agencies/{clinic.id}/keys", {"name": "auditor", "roles": ["admin"]})

    world = World(keys={"referrer": hospital.agency["api_key"],
                        "coordinator": coordinator.agency["api_key"],
                        "admin": auditor["api_key"],
                        "operator": operator.agency["api_key"]})
    # Kept out of the ids fuzzing draws from, so no fuzzed revocation ends it mid-run.
    referable = grant_consent(hospital, tag="ContractReferable")
    world.samples = {
        "create_agency": {"name": "Contract Clinic", "kind": "clinic", "roles": ["referrer"]},
        "grant_consent": consent_request(hospital.id, tag="ContractFuzz"),
        "create_referral": referral_request(referable),
        "create_mentor": mentor(7),
    }
    world.add("consent", *(c["id"] for c in consents.values()))
    world.add("participant", *(c["participant_id"] for c in consents.values()))
    world.add("referral", done["id"], declined["id"], revoked["id"], waiting["id"])
    for group in peers:
        world.add("mentor", *(m["id"] for m in group.ok("GET", "/v1/mentors")["items"]))
        for status in ("proposed", "accepted", "declined", "withdrawn"):
            world.add("match", *(m["id"] for m in group.ok("GET", f"/v1/matches?status={status}")["items"]))
    return world
