"""The repositories every consent unit of work carries: ``uow.consents``, ``uow.ledger``,
``uow.disclosures``, ``uow.creations``, ``uow.admissions`` and ``uow.verifications``, all in the
unit of work's one session and transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.consent.adapters.accounting import DisclosureRepository
from services.consent.adapters.admissions import AdmissionRepository
from services.consent.adapters.consents import ConsentRepository
from services.consent.adapters.ledger_store import LedgerRepository
from services.consent.adapters.verifications import VerificationRepository
from services.kit.creations import Creations
from services.kit.crypto import KeyRing


def consent_repositories(session: Session, ring: KeyRing | None) -> dict[str, Any]:
    """The service's repositories over ``session``; consents seal with ``ring``.

    Raises ``ValueError`` without a ring: consents are never stored unsealed.
    """
    if ring is None:
        raise ValueError("the consent service seals its columns: give its Database sealed=True")
    return {
        "consents": ConsentRepository(session, ring),
        "ledger": LedgerRepository(session),
        "disclosures": DisclosureRepository(session),
        "creations": Creations(session),
        "admissions": AdmissionRepository(session),
        "verifications": VerificationRepository(session),
    }
