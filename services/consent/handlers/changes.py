"""Writing what happened to a consent: its ledger entries and its outbox events, together."""

from __future__ import annotations

from datetime import datetime

from services.consent.domain import Consent
from services.consent.domain.terms import terms_hash
from services.consent.ledger_keys import LedgerKeyPair

# The actor of entries the service writes on its own (the expiry timer).
SERVICE_ACTOR = "consent-service"


def record_changes(uow, keys: LedgerKeyPair, consent: Consent, *, actor: str, now: datetime,
                   by: str | None = None) -> None:
    """Ledger each event the consent recorded and stage it in the outbox, in the current
    transaction; the consent's events are cleared. ``actor`` is the agency, ``by`` who acted in
    it (``key:<name>``, ``person:<id>``), kept in the row's details. Each entry binds the
    version's terms (``terms_hash``), which ``authorize`` checks. Raises ``ContractError`` when an
    event does not fit the catalog (nothing is committed then)."""
    bound = terms_hash(consent)
    for event in consent.events:
        payload = event.payload()
        details = {k: v for k, v in payload.items() if k not in ("consent_id", "participant_id")}
        details["version"] = consent.version
        if by and by != actor:
            details["by"] = by
        details["terms_hash"] = bound
        if event.type == "consent.revoked":
            # The reason is sealed with the consent; the ledger, which is never erased, says only
            # that one was given.
            details["reason_recorded"] = consent.revocation_reason is not None
        uow.ledger.append(keys, at=now, actor=actor, action=event.type, subject=consent.id,
                          participant_id=consent.participant_id, details=details)
        if event.published:
            uow.publish(event.type, payload, aggregate_id=consent.id)
    consent.events.clear()
