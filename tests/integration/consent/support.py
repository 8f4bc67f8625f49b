"""Agencies, grant requests and an observer of published events."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support import EventTap

HOSPITAL = {"agency_id": "hospital-1", "kind": "hospital", "roles": ["referrer"]}
OTHER_HOSPITAL = {"agency_id": "hospital-7", "kind": "hospital", "roles": ["referrer"]}
PEERS = {"agency_id": "peer-1", "kind": "peer_group", "roles": ["coordinator"]}
ADMIN = {"agency_id": "admin-1", "kind": "clinic", "roles": ["admin"]}  # another clinic's admin
HOLDERS_ADMIN = {"agency_id": "hospital-1", "kind": "hospital", "roles": ["admin"], "actor": "key:audit"}
OPERATOR = {"agency_id": "operator-1", "kind": "operator", "roles": ["operator"], "actor": "key:ops"}
PEER_1 = {"agency_id": "peer-1", "kind": "peer_group"}
PEER_2 = {"agency_id": "peer-2", "kind": "peer_group"}  # covered by class only
CLINIC_2 = {"agency_id": "clinic-2", "kind": "clinic"}
NETWORK = {"class": "peer_group"}
PURPOSE = "peer-support-referral"


def grant_request(now: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """A complete grant body (agencies with kinds, as the gateway sends it), relative to ``now``."""
    now = now or datetime.now(UTC)
    body = {
        "participant": {"given_name": "Ana", "family_name": "Ruiz", "birth_date": "1990-04-02",
                        "phone": "+15555550100", "email": "ana@example.org",
                        "preferred_language": "es"},
        "disclosers": ["hospital-1"],
        "recipients": {"agencies": [{"id": "peer-1", "kind": "peer_group"},
                                    {"id": "clinic-2", "kind": "clinic"}],
                       "classes": ["peer_group"]},
        "purposes": [PURPOSE, "care-coordination"],
        "data_classes": ["demographics", "contact", "referral-reason"],
        "valid_from": _iso(now - timedelta(hours=1)),
        "valid_until": _iso(now + timedelta(days=1)),
        "signature": {"signed_by": "participant", "signer_name": "Ana Ruiz",
                      "signed_at": _iso(now - timedelta(minutes=30)), "method": "electronic"},
    }
    body.update(copy.deepcopy(changes))
    return {k: v for k, v in body.items() if v is not None}


def ask(consent: dict[str, Any], recipient: dict[str, str] = PEER_1, **changes: Any) -> dict[str, Any]:
    """Keyword arguments of ``authorize``/``disclose`` for ``consent``, as referrals sends them."""
    return {"discloser": "hospital-1", "recipient": recipient, "purpose": PURPOSE,
            "data_classes": ["contact"], "participant_id": consent["participant_id"],
            "consent_id": consent["id"], **changes}


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class EventObserver(EventTap):
    """``consent.*`` events: what the consent service told the network."""

    def __init__(self, amqp_uri: str) -> None:
        super().__init__(amqp_uri, "consent.*", "test.consent-events")

    def of_type(self, event_type: str, consent_id: str | None = None) -> list[dict[str, Any]]:
        return super().of_type(event_type, consent_id=consent_id)


@contextmanager
def unfiltered_lines(logger_name: str) -> Iterator[list[str]]:
    """Every line ``logger_name`` and its children log, formatted before any filter runs."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.name} {record.getMessage()}")

    logger, keep = logging.getLogger(logger_name), Keep(logging.DEBUG)
    logger.addHandler(keep)
    try:
        yield lines
    finally:
        logger.removeHandler(keep)
