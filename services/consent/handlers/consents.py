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
from datetime import datetime
from typing import Any

from services.consent.adapters import ledger_store
from services.consent.adapters.repository import ConsentRepository, StoredConsent
from services.consent.domain import END_OF_TREATMENT, EXPIRED, REVOKED, Consent
from services.consent.ledger_keys import LedgerKeyPair
from services.consent.schemas import consent_view
from services.kit.crypto import KeyRing
from services.kit.errors import Conflict, Forbidden, NotFound
from services.kit.messages import Caller

log = logging.getLogger(__name__)
# The actor of entries the service writes on its own (the expiry timer).
SERVICE_ACTOR = "consent-service"
EXPIRY_BATCH = 100


def grant(caller: Caller, request: Any, uow, ring: KeyRing, keys: LedgerKeyPair,
          now: datetime) -> dict[str, Any]:
    """Record a consent held by the caller's agency; ledger it and stage ``consent.granted``.

    Raises ``InvalidRequest`` naming every missing or invalid element.
    """
    consent = Consent.grant(request, consent_id=str(uuid.uuid4()),
                            participant_id=str(uuid.uuid4()), now=now)
    with uow:
        ConsentRepository(uow.session, ring).add(consent, caller.agency_id, now)
        _record_changes(uow, keys, consent, actor=caller.agency_id, now=now)
        uow.commit()
    log.info("consent %s granted by agency %s", consent.id, caller.agency_id)
    return consent_view(consent, caller.agency_id)


def get(caller: Caller, consent_id: str, uow, ring: KeyRing) -> dict[str, Any]:
    """The consent for its holder, disclosers, named recipients and admins; else ``NotFound``."""
    with uow:
        stored = _visible(ConsentRepository(uow.session, ring).get(consent_id), caller)
    return consent_view(stored.consent, stored.holder)


def revoke(caller: Caller, consent_id: str, body: Mapping[str, Any], uow, ring: KeyRing,
           keys: LedgerKeyPair, now: datetime) -> dict[str, Any]:
    """Revoke in full, or for ``body["recipients"]`` only; the holder alone may.

    Raises ``NotFound`` (unknown or not visible), ``Forbidden`` (visible, not the holder),
    ``Conflict`` (expired) and ``InvalidRequest`` (recipients the consent never covered).
    """
    recipients = body.get("recipients")
    with uow:
        repo = ConsentRepository(uow.session, ring)
        # Locked until commit: a concurrent revoke waits, then finds the work done.
        stored = _visible(repo.get(consent_id, for_update=True), caller)
        if stored.holder != caller.agency_id:
            raise Forbidden("Only the agency that recorded this consent may revoke it.")
        consent = stored.consent
        if _already_revoked(consent, recipients):
            return consent_view(consent, stored.holder)
        consent.revoke(at=now, reason=body["reason"], recipients=recipients)
        repo.save(stored, now)
        _record_changes(uow, keys, consent, actor=caller.agency_id, now=now)
        uow.commit()
    log.info("consent %s revoked (version %d, status %s)", consent.id, consent.version, consent.status)
    return consent_view(consent, stored.holder)


def end_treatment(caller: Caller, consent_id: str, uow, ring: KeyRing, keys: LedgerKeyPair,
                  now: datetime) -> dict[str, Any]:
    """Treatment ended: a consent that expires on that event expires now.

    The holder or a discloser may say so. Raises ``NotFound``, ``Forbidden`` and ``Conflict``
    (the consent ends on a date, or is revoked).
    """
    with uow:
        repo = ConsentRepository(uow.session, ring)
        stored = _visible(repo.get(consent_id, for_update=True), caller)
        consent = stored.consent
        if caller.agency_id != stored.holder and caller.agency_id not in consent.disclosers:
            raise Forbidden("Only the holder or a discloser of this consent may end treatment.")
        if consent.expires_on != END_OF_TREATMENT:
            raise Conflict(f"consent {consent.id} does not end with treatment")
        if consent.status == EXPIRED:
            return consent_view(consent, stored.holder)
        if not consent.expiring_event_occurred(END_OF_TREATMENT, now):
            raise Conflict(f"consent {consent.id} is {consent.status}")
        repo.save(stored, now)
        _record_changes(uow, keys, consent, actor=caller.agency_id, now=now)
        uow.commit()
    log.info("consent %s expired at the end of treatment", consent.id)
    return consent_view(consent, stored.holder)


def expire_due(uow, ring: KeyRing, keys: LedgerKeyPair, now: datetime,
               batch: int = EXPIRY_BATCH) -> int:
    """Expire every active consent past its ``valid_until``, one transaction each; how many."""
    expired = 0
    while True:
        with uow:
            due = ConsentRepository(uow.session, ring).due_for_expiry(now, batch)
        done = sum(_expire_one(consent_id, uow, ring, keys, now) for consent_id in due)
        expired += done
        if len(due) < batch or done == 0:
            break
    if expired:
        log.info("%d consent(s) expired", expired)
    return expired


def _expire_one(consent_id: str, uow, ring: KeyRing, keys: LedgerKeyPair, now: datetime) -> bool:
    with uow:
        repo = ConsentRepository(uow.session, ring)
        stored = repo.get(consent_id, for_update=True)
        if stored is None or not stored.consent.expire_if_due(now):
            return False  # another replica, or a revocation, got there first
        repo.save(stored, now)
        _record_changes(uow, keys, stored.consent, actor=SERVICE_ACTOR, now=now)
        uow.commit()
    return True


# -- shared -------------------------------------------------------------------------------

def _visible(stored: StoredConsent | None, caller: Caller) -> StoredConsent:
    """The consent if the caller may read it; others get the answer an unknown id gets."""
    if stored is not None:
        consent = stored.consent
        named = {stored.holder, *consent.disclosers, *consent.recipients.agency_ids,
                 *consent.revoked.agency_ids}
        if caller.is_admin or caller.agency_id in named:
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


def _record_changes(uow, keys: LedgerKeyPair, consent: Consent, *, actor: str,
                    now: datetime) -> None:
    """Ledger each recorded event and stage it in the outbox, in the current transaction."""
    for event in consent.events:
        payload = event.payload()
        details = {k: v for k, v in payload.items() if k not in ("consent_id", "participant_id")}
        details["version"] = consent.version
        if event.type == "consent.revoked":
            # The reason is sealed with the consent; the ledger, which is never erased, says only
            # that one was given.
            details["reason_recorded"] = consent.revocation_reason is not None
        ledger_store.append(uow.session, keys, at=now, actor=actor, action=event.type,
                            subject=consent.id, participant_id=consent.participant_id,
                            details=details)
        uow.publish(event.type, payload, aggregate_id=consent.id)
    consent.events.clear()
