"""Databases as they were before migrations: built by ``create_all`` and holding a little of everything."""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import MetaData, Table, insert, select

from services.kit.db import make_engine

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def models(service: str) -> MetaData:
    """The service's metadata: its tables plus the kit's outbox and inbox."""
    module = "gateway.adapters.orm" if service == "gateway" else f"services.{service}.adapters.orm"
    return importlib.import_module(module).metadata


def _id() -> str:
    return str(uuid.uuid4())


def _kit_rows() -> dict[str, list[dict[str, Any]]]:
    return {
        "outbox": [{"event_id": _id(), "type": "consent.granted", "aggregate_id": "c-1",
                    "message": '{"type": "consent.granted"}', "created_at": AT, "published_at": None}],
        "processed_events": [{"consumer": "referrals.on_consent_revoked", "event_id": _id(),
                              "processed_at": AT}],
    }


def _consent() -> dict[str, list[dict[str, Any]]]:
    consent = {"id": "consent-1", "participant_id": "participant-1", "holder_agency_id": "agency-st-mary",
               "status": "active", "version": 1, "valid_until": None, "expires_on": "2027-03-02",
               "snapshot": {"scope": {"agencies": ["agency-harbor"]}}, "revocation_reason": None,
               "granted_at": AT, "updated_at": AT}
    version = {"consent_id": "consent-1", "version": 1, "snapshot": consent["snapshot"],
               "revocation_reason": None, "recorded_at": AT}
    return {"consents": [consent], "consent_versions": [version]}


def _referrals() -> dict[str, list[dict[str, Any]]]:
    return {"referrals": [{
        "id": "referral-1", "referrer_agency_id": "agency-st-mary", "assigned_agency_id": None,
        "participant_id": "participant-1", "consent_id": "consent-1", "status": "requested",
        "urgency": "routine", "reason": "sealed:reason", "needs": "sealed:needs", "match": None,
        "waitlisted": False, "match_updated_at": None, "handoff_open": False, "created_at": AT,
        "updated_at": AT, "version": 1}]}


def _matching() -> dict[str, list[dict[str, Any]]]:
    mentor = {"id": "mentor-1", "agency_id": "agency-harbor", "agency_kind": "peer_group",
              "display_name": "Maria P.", "languages": ["es", "en"], "gender": "female", "age": 41,
              "pathways": ["12-step"], "lived_experience": ["opioids"], "lat": 40.73, "lon": -73.99,
              "radius_km": 15.0, "remote_ok": True, "availability": ["mon-evening"], "capacity": 3,
              "caseload": 1, "active": True, "certified_until": date(2030, 6, 30), "created_at": AT,
              "updated_at": AT, "changed_version": 1}
    referral = {"id": "referral-1", "referrer_agency_id": "agency-st-mary", "participant_id": "participant-1",
                "consent_id": "consent-1", "urgency": "routine", "allowed": {"agencies": ["agency-harbor"]},
                "blocked_agencies": [], "criteria": {"languages": ["es"]}, "requested_at": AT,
                "closed_at": None, "closed_reason": None}
    match = {"id": "match-1", "referral_id": "referral-1", "referrer_agency_id": "agency-st-mary",
             "mentor_id": "mentor-1", "mentor_agency_id": "agency-harbor", "urgency": "routine",
             "status": "accepted", "score": 0.82, "explanation": {"language": 1.0}, "proposed_at": AT,
             "expires_at": AT, "decided_at": AT, "released_at": None, "reason_code": None}
    return {"mentors": [mentor], "registry_version": [{"id": 1, "version": 1}], "referrals": [referral],
            "matches": [match]}


def _notifications() -> dict[str, list[dict[str, Any]]]:
    return {"deliveries": [{
        "id": "delivery-1", "key": "event-1:agency-harbor:webhook", "agency_id": "agency-harbor",
        "channel": "webhook", "event_id": "event-1", "event_type": "match.proposed", "status": "sent",
        "next_attempt_at": None, "attempts": [{"at": AT.isoformat(), "outcome": "sent"}],
        "message": {"match_id": "match-1"}, "claim": None, "created_at": AT}]}


def _gateway() -> dict[str, list[dict[str, Any]]]:
    return {"agencies": [{"id": "agency-1", "name": "St. Mary Hospital", "kind": "hospital",
                          "roles": ["referrer"], "created_at": AT}],
            "api_keys": [{"key_id": "key-1", "agency_id": "agency-1", "digest": "0" * 64,
                          "created_at": AT, "revoked_at": None}]}


ROWS = {"consent": _consent, "referrals": _referrals, "matching": _matching,
        "notifications": _notifications, "gateway": _gateway}


def build(service: str, url: str) -> dict[str, list[dict[str, Any]]]:
    """Create the service's tables the old way (``create_all``) and fill them; returns what was written."""
    rows = {**ROWS[service](), **_kit_rows()}
    metadata = models(service)
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            for table in metadata.sorted_tables:
                if table.name in rows:
                    connection.execute(insert(table), rows[table.name])
    finally:
        engine.dispose()
    return read(service, url, rows)


def read(service: str, url: str, like: dict[str, list]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables in ``like``, as dicts, in primary-key order."""
    metadata = models(service)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {name: [dict(row._mapping) for row in connection.execute(_ordered(metadata.tables[name]))]
                    for name in like}
    finally:
        engine.dispose()


def _ordered(table: Table):
    return select(table).order_by(*table.primary_key.columns)
