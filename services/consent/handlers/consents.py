"""Granting, reading, revoking and ending consents. No nameko here.

``uow`` is the kit's unit of work, not yet entered: each handler opens its own transaction.
Every change is written with its ledger entries and its outbox events in that transaction.
A change that was already made (a retried or redelivered request) is answered with the
consent as it is, and records and publishes nothing a second time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.consent.adapters.consents import StoredConsent
from services.consent.domain import END_OF_TREATMENT, EXPIRED, REVOKED, Consent
from services.consent.domain.commands import (
    AttestConsent,
    EndTreatment,
    GrantConsent,
    ReadConsent,
    RevokeConsent,
)
from services.consent.handlers.changes import record_changes
from services.consent.ledger_keys import LedgerKeyPair
from services.consent.schemas import consent_view
from services.kit.creations import CreatedMeanwhile, earlier_object, record_creation
from services.kit.errors import Conflict, Forbidden, NotFound
from services.kit.messages import Caller

log = logging.getLogger(__name__)


def grant(command: GrantConsent, uow, keys: LedgerKeyPair, now: datetime, *,
          end_of_treatment_lifetime: timedelta | None = None) -> dict[str, Any]:
    """Record a consent held by the asking agency; ledger it and stage ``consent.granted``.

    The asking agency must be a discloser; other disclosers are covered once they attest. A
    consent ending with treatment ends after ``end_of_treatment_lifetime`` at the latest. With an
    Idempotency-Key (``command.creation``) one consent is recorded per key: a repeat, or an
    attempt that loses the race to a concurrent one, answers the consent the key recorded.
    Raises ``InvalidRequest`` naming every missing or invalid element, and ``Conflict`` for a key
    used with another request.
    """
    earlier = _consent_made_by_key(command, uow)
    if earlier is not None:
        return earlier
    consent = Consent.grant(command.request, consent_id=str(uuid.uuid4()),
                            participant_id=str(uuid.uuid4()), holder=command.caller.agency_id,
                            now=now, end_of_treatment_lifetime=end_of_treatment_lifetime)
    try:
        with uow:
            record_creation(uow, command.creation, consent.id, now)
            uow.consents.add(consent, command.caller.agency_id, now)
            record_changes(uow, keys, consent, actor=command.caller.agency_id, now=now,
                           by=command.caller.actor)
            uow.commit()
    except CreatedMeanwhile:
        return _consent_made_by_key(command, uow)
    log.info("consent %s granted by agency %s", consent.id, command.caller.agency_id)
    return consent_view(consent, command.caller.agency_id)


def _consent_made_by_key(command: GrantConsent, uow) -> dict[str, Any] | None:
    with uow:
        consent_id = earlier_object(uow, command.creation)
        if consent_id is None:
            return None
        stored = _visible(uow.consents.get(consent_id), command.caller)
    return consent_view(stored.consent, stored.holder)


def get(command: ReadConsent, uow) -> dict[str, Any]:
    """The consent for its holder, disclosers, named recipients and admins; else ``NotFound``."""
    with uow:
        stored = _visible(uow.consents.get(command.consent_id), command.caller)
    return consent_view(stored.consent, stored.holder)


def revoke(command: RevokeConsent, uow, keys: LedgerKeyPair, now: datetime) -> dict[str, Any]:
    """Revoke in full, or for ``command.recipients`` only; the holder alone may.

    Raises ``NotFound`` (unknown or not visible), ``Forbidden`` (visible, not the holder),
    ``Conflict`` (expired, or changed meanwhile) and ``InvalidRequest`` (recipients the
    consent never covered).
    """
    with uow:
        # Locked until commit: a concurrent revoke waits, then finds the work done.
        stored = _visible(uow.consents.get(command.consent_id, for_update=True), command.caller)
        if stored.holder != command.caller.agency_id:
            raise Forbidden("Only the agency that recorded this consent may revoke it.")
        consent = stored.consent
        if _already_revoked(consent, command.recipients):
            return consent_view(consent, stored.holder)
        consent.revoke(at=now, reason=command.reason, recipients=command.recipients)
        uow.consents.save(stored, now)
        record_changes(uow, keys, consent, actor=command.caller.agency_id, now=now,
                       by=command.caller.actor)
        uow.commit()
    log.info("consent %s revoked (version %d, status %s)", consent.id, consent.version, consent.status)
    return consent_view(consent, stored.holder)


def attest(command: AttestConsent, uow, keys: LedgerKeyPair, now: datetime) -> dict[str, Any]:
    """A discloser the consent names confirms it: from now on the consent covers it.

    Ledgered (``consent.attested``, with the new version's terms). Raises ``NotFound``,
    ``Forbidden`` (not a named discloser) and ``Conflict`` (no longer active).
    """
    with uow:
        stored = _visible(uow.consents.get(command.consent_id, for_update=True), command.caller)
        consent = stored.consent
        if not consent.attest(command.caller.agency_id, at=now):
            return consent_view(consent, stored.holder)
        uow.consents.save(stored, now)
        record_changes(uow, keys, consent, actor=command.caller.agency_id, now=now,
                       by=command.caller.actor)
        uow.commit()
    log.info("consent %s attested by discloser %s", consent.id, command.caller.agency_id)
    return consent_view(consent, stored.holder)


def end_treatment(command: EndTreatment, uow, keys: LedgerKeyPair, now: datetime) -> dict[str, Any]:
    """Treatment ended: a consent that expires on that event expires now.

    Only the holder may say so. Raises ``NotFound``, ``Forbidden`` and ``Conflict`` (the
    consent ends on a date, or is revoked).
    """
    with uow:
        stored = _visible(uow.consents.get(command.consent_id, for_update=True), command.caller)
        consent = stored.consent
        if command.caller.agency_id != stored.holder:
            raise Forbidden("Only the agency that recorded this consent may end it with treatment.")
        if consent.expires_on != END_OF_TREATMENT:
            raise Conflict(f"consent {consent.id} does not end with treatment")
        if consent.status == EXPIRED:
            return consent_view(consent, stored.holder)
        if not consent.expiring_event_occurred(END_OF_TREATMENT, now):
            raise Conflict(f"consent {consent.id} is {consent.status}")
        uow.consents.save(stored, now)
        record_changes(uow, keys, consent, actor=command.caller.agency_id, now=now,
                       by=command.caller.actor)
        uow.commit()
    log.info("consent %s expired at the end of treatment", consent.id)
    return consent_view(consent, stored.holder)


def _visible(stored: StoredConsent | None, caller: Caller) -> StoredConsent:
    """The consent if the caller may read it; others get the answer an unknown id gets."""
    if stored is not None:
        consent = stored.consent
        named = {stored.holder, *consent.disclosers, *consent.recipients.agency_ids,
                 *consent.revoked.agency_ids}
        if caller.agency_id in named:
            return stored
    raise NotFound("No such consent.")


def _already_revoked(consent: Consent, recipients: Mapping[str, Any] | None) -> bool:
    """Whether this revocation was already made (a retry): nothing left to take off."""
    if recipients is None:
        return consent.status == REVOKED
    ids = [a.get("id") if isinstance(a, Mapping) else a for a in recipients.get("agencies") or ()]
    classes = list(recipients.get("classes") or ())
    if not ids and not classes:
        return False  # the domain explains what is wrong with the request
    current, revoked = consent.recipients, consent.revoked
    return (all(i in revoked.agency_ids and i not in current.agency_ids for i in ids)
            and all(c in revoked.classes and c not in current.classes for c in classes))
