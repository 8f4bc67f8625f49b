"""The world around the matching service in its integration tests: callers, mentors, the
events other services publish, and an observer of what matching tells the network."""

from __future__ import annotations

import json
import uuid
from typing import Any

from kombu import Connection, Queue

from services.kit import broker, topology
from services.kit.contract import Event, new_event
from tests.support import wait_for

HARBOR = {"agency_id": "agency-harbor-peers", "kind": "peer_group", "roles": ["coordinator"]}
BRIDGE = {"agency_id": "agency-bridge-peers", "kind": "peer_group", "roles": ["coordinator"]}
ADMIN = {"agency_id": "agency-network-admin", "kind": "clinic", "roles": ["admin"]}
CLINIC = {"agency_id": "agency-st-mary", "kind": "hospital", "roles": ["referrer"]}
DOWNTOWN = {"lat": 40.71, "lon": -74.0}


def mentor_body(**overrides: Any) -> dict[str, Any]:
    """A POST /v1/mentors body (docs/api.md) that fits ``requested()``'s default referral well."""
    body = {
        "display_name": "Maria P.", "languages": ["es", "en"], "gender": "female", "age": 41,
        "pathways": ["12-step"], "lived_experience": ["opioids"],
        "location": {"lat": 40.73, "lon": -73.99}, "radius_km": 15, "remote_ok": True,
        "availability": ["mon-evening", "sat-morning"], "capacity": 3, "certified_until": "2030-06-30",
    }
    body.update(overrides)
    return body


def requested(referral_id: str | None = None, *, consent_id: str = "consent-1",
              agencies: tuple[str, ...] = (HARBOR["agency_id"],), classes: tuple[str, ...] = (),
              excluded: tuple[str, ...] = (), urgency: str = "routine", **criteria: Any) -> dict[str, Any]:
    """A ``referral.requested`` payload: ids and matching criteria, nothing personal."""
    wanted = {
        "languages": ["es", "en"], "mentor_gender": "female", "mentor_gender_required": False,
        "pathways": ["12-step"], "lived_experience": ["opioids"], "age_band": 35,
        "location": DOWNTOWN, "remote_ok": True, "availability": ["mon-evening", "sat-morning"],
        "substance_use_shared": True,
    }
    wanted.update(criteria)
    return {
        "referral_id": referral_id or f"referral-{uuid.uuid4().hex[:8]}",
        "referrer_agency_id": CLINIC["agency_id"], "participant_id": f"participant-{consent_id}",
        "consent_id": consent_id, "urgency": urgency,
        "allowed": {"agencies": list(agencies), "classes": list(classes), "excluded": list(excluded)},
        "criteria": wanted,
    }


def publish(amqp_uri: str, type_: str, payload: dict[str, Any]) -> Event:
    """Publish a contract-valid event the way a producing service's relay does."""
    event = new_event(type_, payload, source="test")
    publish_again(amqp_uri, event)
    return event


def publish_again(amqp_uri: str, event: Event) -> None:
    broker.publish(amqp_uri, event.to_message(), exchange=topology.EVENTS, routing_key=event.type)


class EventLog:
    """A test queue bound to every event ('#'): what matching (and the tests) published."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)
        topology.declare(self.connection, {})
        self.queue = Queue("test.matching-observer", exchange=topology.EVENTS, routing_key="#",
                           durable=False)
        self.queue(self.connection.default_channel).declare()
        self.seen: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        bound = self.queue(self.connection.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            self.seen.append(json.loads(message.body))
        return self.seen

    def of(self, type_: str, **payload: Any) -> list[dict[str, Any]]:
        """Payloads of events of ``type_`` whose fields equal ``payload``'s, in order."""
        return [e["payload"] for e in self.read() if e["type"] == type_
                and all(e["payload"].get(k) == v for k, v in payload.items())]

    def wait(self, type_: str, count: int = 1, **payload: Any) -> list[dict[str, Any]]:
        """Wait until ``count`` such events arrived; returns them."""
        return wait_for(lambda: (found := self.of(type_, **payload)) and len(found) >= count and found)

    def matching(self) -> list[dict[str, Any]]:
        """Every event matching published, as (type, payload) in order."""
        return [e for e in self.read() if e["source"] == "matching"]

    def close(self) -> None:
        self.connection.release()
