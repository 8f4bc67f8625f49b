"""Binding each version of a consent's terms to the audit ledger.

Every change to a consent is ledgered with the hash of the terms it leaves in force
(``terms_hash``). Before a permit, ``authorize`` compares the terms it read with the hash of
the latest consent entry the ledger holds for that consent: whoever widens recipients,
classes or dates in the consent tables, without the ledger key, is caught there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from services.consent.domain.ledger import canonical
from services.consent.domain.model import Consent

# The ledger actions that record a new version of a consent's terms.
TERMS_ACTIONS = ("consent.granted", "consent.revoked", "consent.expired", "consent.attested")


def terms_hash(consent: Consent) -> str:
    """SHA-256 over the canonical JSON of the consent's current snapshot.

    The snapshot holds every term (disclosers, recipients, purposes, data classes, period,
    status, version) and no personal details; the sealed revocation reason is left out.
    """
    snapshot = {k: v for k, v in consent.snapshot().items() if k != "revocation_reason"}
    return hashlib.sha256(canonical(snapshot).encode()).hexdigest()


def terms_match(consent: Consent, recorded: Mapping[str, Any] | None) -> bool:
    """Whether ``recorded`` (the details of the latest consent entry in the ledger for this
    consent, already checked against the chain key) binds exactly the terms read now."""
    if recorded is None:
        return False
    return recorded.get("version") == consent.version and recorded.get("terms_hash") == terms_hash(consent)
