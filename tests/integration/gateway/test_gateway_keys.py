"""Machine keys, the network operator and the agency directory through the running gateway, with
the consent service keeping the ledger: every change is ledgered, a revoked key or a deactivated
agency is refused from the next request, a rotated key works until its overlap ends, and each
agency has its rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.service import GatewayService
from network.processes import free_port
from services.kit import broker, topology
from tests.integration.gateway.agencies import insert_agency
from tests.integration.gateway.conftest import Api

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clinic(gateway, gateway_config) -> dict:
    """A clinic that refers and administers itself, with its default key."""
    agency, key = insert_agency(gateway_config, "Eastside Clinic", "clinic", ["referrer", "admin"])
    return {**agency, "api_key": key}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def ledger_rows(gateway, operator_key: str, **filters: str) -> list[dict]:
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    return ok(gateway.call("GET", f"/v1/audit/ledger?{query}", operator_key))["items"]


def test_an_agency_admin_creates_lists_and_revokes_keys_and_each_change_is_ledgered(
        gateway, admin_key, clinic, ledger_service):
    keys_path = f"/v1/agencies/{clinic['id']}/keys"
    intake = ok(gateway.call("POST", keys_path, clinic["api_key"],
                             json={"name": "intake-system", "roles": ["referrer"]}), 201)
    assert intake["api_key"].startswith("rn_") and intake["status"] == "active"
    assert intake["roles"] == ["referrer"]

    # The new key acts as the clinic, in its own roles only.
    assert gateway.call("GET", "/v1/agencies", intake["api_key"]).status_code == 200
    assert gateway.call("GET", keys_path, intake["api_key"]).status_code == 403
    listed = ok(gateway.call("GET", keys_path, clinic["api_key"]))["items"]
    assert {k["name"]: k["roles"] for k in listed} == {"default": ["admin", "referrer"],
                                                       "intake-system": ["referrer"]}
    assert next(k for k in listed if k["name"] == "intake-system")["last_used_at"] is not None
    assert all("api_key" not in k and "digest" not in k for k in listed)

    revoked = ok(gateway.call("POST", f"{keys_path}/{intake['id']}/revoke", clinic["api_key"]))
    assert revoked["status"] == "revoked"
    refused = gateway.call("GET", "/v1/agencies", intake["api_key"])  # the very next request
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"

    rows = ledger_rows(gateway, admin_key, agency=clinic["id"])
    assert [(r["action"], r["subject"], r["actor"]) for r in rows] == [
        ("key.created", intake["id"], "key:default"), ("key.revoked", intake["id"], "key:default")]


def test_a_rotated_key_works_until_its_overlap_ends_and_its_successor_after(
        gateway, gateway_clock, admin_key, clinic, ledger_service):
    gateway_clock(T0)
    old_key = clinic["api_key"]
    old_id = old_key.split("_")[1]
    new = ok(gateway.call("POST", f"/v1/agencies/{clinic['id']}/keys/{old_id}/rotate", old_key), 201)
    assert new["name"] == "default" and new["roles"] == ["admin", "referrer"]

    gateway_clock(T0 + timedelta(hours=23, minutes=59))  # the default overlap is 24 hours
    listed = ok(gateway.call("GET", f"/v1/agencies/{clinic['id']}/keys", old_key))["items"]
    assert {k["id"]: k["status"] for k in listed} == {old_id: "rotating", new["id"]: "active"}
    gateway_clock(T0 + timedelta(hours=24))
    assert gateway.call("GET", "/v1/agencies", old_key).status_code == 401
    assert gateway.call("GET", "/v1/agencies", new["api_key"]).status_code == 200
    again = gateway.call("POST", f"/v1/agencies/{clinic['id']}/keys/{old_id}/rotate", new["api_key"])
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    rotated = ledger_rows(gateway, admin_key, action="key.rotated")
    assert [(r["subject"], r["agency_id"]) for r in rotated] == [(old_id, clinic["id"])]


def test_another_agencys_keys_answer_as_unknown_and_bad_requests_change_nothing(
        gateway, gateway_config, clinic, ledger_service):
    _, other_admin = insert_agency(gateway_config, "Westside Clinic", "clinic", ["referrer", "admin"])
    keys_path = f"/v1/agencies/{clinic['id']}/keys"
    key_id = clinic["api_key"].split("_")[1]
    for method, path, body in [("GET", keys_path, None), ("POST", keys_path, {"name": "x"}),
                               ("POST", f"{keys_path}/{key_id}/rotate", {}),
                               ("POST", f"{keys_path}/{key_id}/revoke", None)]:
        response = gateway.call(method, path, other_admin, json=body)
        assert response.status_code == 404, (method, path, response.text)
    beyond = gateway.call("POST", keys_path, clinic["api_key"],
                          json={"name": "mentors", "roles": ["coordinator"]})
    assert beyond.status_code == 422 and set(beyond.json()["errors"]) == {"roles"}
    taken = gateway.call("POST", keys_path, clinic["api_key"], json={"name": "default"})
    assert taken.status_code == 409
    assert len(ok(gateway.call("GET", keys_path, clinic["api_key"]))["items"]) == 1
    assert gateway.call("GET", "/v1/agencies", clinic["api_key"]).status_code == 200  # not revoked


def test_deactivating_an_agency_refuses_its_keys_at_once_until_it_is_reactivated(
        gateway, admin_key, clinic, ledger_service):
    agency_path = f"/v1/agencies/{clinic['id']}"
    deactivated = ok(gateway.call("POST", f"{agency_path}/deactivate", admin_key))
    assert deactivated["status"] == "deactivated"
    assert gateway.call("GET", "/v1/agencies", clinic["api_key"]).status_code == 401
    ok(gateway.call("POST", f"{agency_path}/reactivate", admin_key))
    assert gateway.call("GET", "/v1/agencies", clinic["api_key"]).status_code == 200

    # Only the operator does this, and never to itself.
    assert gateway.call("POST", f"{agency_path}/deactivate", clinic["api_key"]).status_code == 403
    operator_id = next(a["id"] for a in ok(gateway.call("GET", "/v1/agencies", admin_key))["items"]
                       if a["kind"] == "operator")
    assert gateway.call("POST", f"/v1/agencies/{operator_id}/deactivate", admin_key).status_code == 409
    actions = [r["action"] for r in ledger_rows(gateway, admin_key, agency=operator_id)]
    assert actions == ["agency.deactivated", "agency.reactivated"]


def test_the_directory_shows_names_and_kinds_and_the_operator_also_status_and_roles(
        gateway, admin_key, clinic, ledger_service):
    ok(gateway.create("/v1/agencies", admin_key,
                      json={"name": "Bridge Peers", "kind": "peer_group", "roles": ["coordinator"]}), 201)
    ok(gateway.call("POST", f"/v1/agencies/{clinic['id']}/deactivate", admin_key))

    seen = ok(gateway.call("GET", "/v1/agencies", admin_key))["items"]
    assert {a["name"]: a["status"] for a in seen} == {
        "Network Operations": "active", "Eastside Clinic": "deactivated", "Bridge Peers": "active"}
    peers_key = next(a for a in seen if a["name"] == "Bridge Peers")
    assert peers_key["roles"] == ["coordinator"]
    admitted = ledger_rows(gateway, admin_key, action="agency.created")
    assert [r["subject"] for r in admitted] == [peers_key["id"]]


def test_an_agency_over_its_rate_limit_gets_429_with_retry_after(
        container_factory, gateway_config):
    config = {**gateway_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
              "RATE_LIMIT_BURST": 3, "RATE_LIMIT_PER_SECOND": 0.01}
    container_factory(GatewayService, config).start()
    gateway = Api(f"http://{config['WEB_SERVER_ADDRESS']}")
    _, busy = insert_agency(config, "Busy Clinic", "clinic", ["referrer"])
    _, calm = insert_agency(config, "Calm Clinic", "clinic", ["referrer"])

    answers = [gateway.call("GET", "/v1/agencies", busy) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert gateway.call("GET", "/v1/agencies", calm).status_code == 200  # each agency its own


def test_the_operator_lists_dead_letters_without_their_bodies_and_no_one_else_may(
        gateway, gateway_config, admin_key, clinic):
    with broker.connect(gateway_config["AMQP_URI"]) as connection:
        topology.DEAD_LETTERS(connection.channel()).declare()
    body = {"id": "evt-1", "type": "referral.requested", "payload": {"note": "CanaryDeadLetter"}}
    broker.publish(gateway_config["AMQP_URI"], body, exchange="", routing_key=topology.DEAD_LETTERS.name,
                   headers={broker.CONSUMER: "matching.on_referral_requested", broker.ERROR: "KeyError",
                            broker.ATTEMPT: 5, broker.PARKED_AT: "2026-12-01T09:00:00Z"},
                   message_id="evt-1")

    listed = gateway.call("GET", "/v1/dead-letters", admin_key)

    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 1
    [letter] = listed.json()["items"]
    assert (letter["event_id"], letter["consumer"], letter["error"]) == (
        "evt-1", "matching.on_referral_requested", "KeyError")
    assert "Canary" not in listed.text
    assert gateway.call("GET", "/v1/dead-letters", clinic["api_key"]).status_code == 403
    assert gateway.call("GET", "/v1/dead-letters", admin_key).json()["total"] == 1  # still parked


def test_the_operator_replays_a_dead_letter_to_its_consumer_and_an_unreadable_one_stays(
        gateway, gateway_config, admin_key, clinic):
    from kombu import Connection, Queue

    uri, consumer = gateway_config["AMQP_URI"], "console.replay_check"
    with broker.connect(uri) as connection:
        channel = connection.channel()
        topology.DEAD_LETTERS(channel).declare()
        Queue(consumer, exchange=topology.REQUEUE, routing_key=consumer)(channel).declare()
    for event_id, extra in (("evt-ok", {}), ("evt-raw", {broker.UNREADABLE: True})):
        broker.publish(uri, {"id": event_id, "type": "referral.requested"}, exchange="",
                       routing_key=topology.DEAD_LETTERS.name, message_id=event_id,
                       headers={broker.CONSUMER: consumer, broker.ERROR: "KeyError", broker.ATTEMPT: 5,
                                broker.PARKED_AT: "2026-12-01T09:00:00Z", **extra})

    assert gateway.call("POST", "/v1/dead-letters/evt-ok/replay", clinic["api_key"]).status_code == 403
    replayed = gateway.call("POST", "/v1/dead-letters/evt-ok/replay", admin_key)
    assert replayed.status_code == 200, replayed.text
    assert [(r["event_id"], r["consumer"]) for r in replayed.json()["replayed"]] == [("evt-ok", consumer)]
    with Connection(uri) as connection:
        arrived = Queue(consumer, exchange=topology.REQUEUE, routing_key=consumer)(connection.channel()).get(
            no_ack=True)
    assert arrived is not None and arrived.properties["message_id"] == "evt-ok"
    assert arrived.headers[broker.ATTEMPT] == 1
    assert gateway.call("POST", "/v1/dead-letters/evt-ok/replay", admin_key).status_code == 404
    refused = gateway.call("POST", "/v1/dead-letters/evt-raw/replay", admin_key)
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")
    left = gateway.call("GET", "/v1/dead-letters", admin_key).json()["items"]
    assert [letter["event_id"] for letter in left] == ["evt-raw"]
