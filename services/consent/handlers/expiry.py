"""The expiry timer: consents past their ``valid_until`` become expired. No nameko here."""

from __future__ import annotations

import logging
from datetime import datetime

from services.consent.domain.commands import ExpireDueConsents
from services.consent.handlers.changes import SERVICE_ACTOR, record_changes
from services.consent.ledger_keys import LedgerKeyPair

log = logging.getLogger(__name__)


def expire_due(command: ExpireDueConsents, uow, keys: LedgerKeyPair, now: datetime) -> int:
    """Expire every active consent past its ``valid_until``, one transaction each; how many.

    Each expiry is ledgered and stages ``consent.expired``. A consent another replica or a
    revocation changed first is skipped.
    """
    expired = 0
    while True:
        with uow:
            due = uow.consents.due_for_expiry(now, command.batch)
        done = sum(_expire_one(consent_id, uow, keys, now) for consent_id in due)
        expired += done
        if len(due) < command.batch or done == 0:
            break
    if expired:
        log.info("%d consent(s) expired", expired)
    return expired


def _expire_one(consent_id: str, uow, keys: LedgerKeyPair, now: datetime) -> bool:
    with uow:
        stored = uow.consents.get(consent_id, for_update=True)
        if stored is None or not stored.consent.expire_if_due(now):
            return False  # another replica, or a revocation, got there first
        uow.consents.save(stored, now)
        record_changes(uow, keys, stored.consent, actor=SERVICE_ACTOR, now=now)
        uow.commit()
    return True
