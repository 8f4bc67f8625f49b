"""Reading sealed referral rows that may fail their integrity check.

A cell altered, moved or sealed with a key no longer in the ring raises ``DecryptionError``.
Here that becomes one integrity alert in the log, naming the table and row id (never a value),
and the caller decides: a listing shows the row as unreadable, an aggregate load is a conflict.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from services.kit.crypto import DecryptionError, KeyRing
from services.kit.encrypted import unseal
from services.kit.errors import Conflict
from services.referrals.domain.unreadable import UnreadableReferral

log = logging.getLogger(__name__)
UNREADABLE_DETAIL = "This referral's stored data failed its integrity check; an operator has been alerted."


def unseal_or_alert(ring: KeyRing, table: str, row_id: str,
                    tokens: Mapping[str, str | None]) -> dict[str, str | None] | None:
    """The opened cells, or None after one integrity alert naming ``table`` and ``row_id``."""
    try:
        return unseal(ring, table, row_id, tokens)
    except DecryptionError:
        log.error("integrity alert: %s row %s failed its integrity check and cannot be read", table, row_id)
        return None


def readable(loaded: Sequence[Any]) -> list[Any]:
    """``loaded`` as referral aggregates. Raises ``Conflict`` if one failed its integrity check."""
    if any(isinstance(item, UnreadableReferral) for item in loaded):
        raise Conflict(UNREADABLE_DETAIL)
    return list(loaded)
