"""Fixtures for the consent tests: a clock, a complete consent request, and for the handlers
ledger keys and a unit of work over in-memory repositories."""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.consent import handlers
from services.consent.domain import Consent
from services.consent.domain.commands import GrantConsent
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.messages import Caller
from tests.unit.consent.fakes import (
    ConsentUnitOfWork,
    FakeAdmissions,
    FakeConsents,
    FakeDisclosures,
    FakeLedger,
)

NOW = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)

# The kind of agency each test agency's name starts with.
_KINDS = {"hospital": "hospital", "clinic": "clinic", "peer": "peer_group", "admin": "clinic",
          "operator": "operator"}


def asking(agency_id: str, *, admin: bool = False) -> Caller:
    """The caller an agency of these tests is (its own administrator with ``admin``; the
    network operator for ``operator-*``)."""
    kind = _KINDS[agency_id.split("-")[0]]
    roles = frozenset({"operator"} if kind == "operator" else {"admin"} if admin else {"referrer"})
    return Caller(agency_id, kind, roles, "key:default")

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
        return Consent.grant(body, consent_id="consent-1", participant_id="participant-1",
                             holder="hospital-1", now=NOW)

    return make


# -- handlers: a unit of work over in-memory repositories --------------------------------------

@pytest.fixture
def ledger_keys() -> LedgerKeyPair:
    """Fresh ledger keys; a signed checkpoint every 4 entries."""
    return LedgerKeyPair(os.urandom(32), Ed25519PrivateKey.generate(), checkpoint_every=4)


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def consents(ledger) -> FakeConsents:
    return FakeConsents(ledger)


@pytest.fixture
def disclosures() -> FakeDisclosures:
    return FakeDisclosures()


@pytest.fixture
def uow(consents, ledger, disclosures) -> ConsentUnitOfWork:
    return ConsentUnitOfWork(consents=consents, ledger=ledger, disclosures=disclosures,
                             admissions=FakeAdmissions())


@pytest.fixture
def granted(uow, ledger_keys, request_body):
    """Grant a consent held by ``hospital-1`` from the complete request with top-level fields
    replaced; returns its view. ``at`` is the grant time (default ``NOW``)."""

    def grant_one(holder: str = "hospital-1", at: datetime = NOW, **changes) -> dict:
        body = {k: v for k, v in {**request_body, **changes}.items() if v is not None}
        return handlers.grant(GrantConsent(asking(holder), body), uow, ledger_keys, at)

    return grant_one
