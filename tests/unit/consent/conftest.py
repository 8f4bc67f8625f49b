"""Fixtures for the consent domain tests: a clock and a complete consent request."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from services.consent.domain import Consent

NOW = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)

COMPLETE_REQUEST = {
    "participant": {
        "given_name": "Ana", "family_name": "Ruiz", "birth_date": "1990-04-02",
        "phone": "+15555550100", "email": "ana@example.org", "preferred_language": "es",
    },
    "disclosers": ["hospital-1"],
    "recipients": {
        "agencies": [{"id": "peer-1", "kind": "peer_group"}, {"id": "clinic-2", "kind": "clinic"}],
        "classes": ["peer_group"],
    },
    "purposes": ["peer-support-referral", "care-coordination"],
    "data_classes": ["demographics", "contact", "referral-reason"],
    "valid_from": "2026-11-01T00:00:00Z",
    "valid_until": "2027-11-01T00:00:00Z",
    "signature": {
        "signed_by": "participant", "signer_name": "Ana Ruiz",
        "signed_at": "2026-11-01T10:00:00Z", "method": "electronic",
    },
}


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def request_body() -> dict:
    """A fresh copy of a complete, valid grant request (docs/api.md, agencies with kinds)."""
    return copy.deepcopy(COMPLETE_REQUEST)


@pytest.fixture
def make_consent(request_body):
    """Grant a consent from the complete request with top-level fields replaced (None removes)."""

    def make(**changes) -> Consent:
        body = {**request_body, **changes}
        body = {k: v for k, v in body.items() if v is not None}
        return Consent.grant(body, consent_id="consent-1", participant_id="participant-1", now=NOW)

    return make
