"""The referrals listing's page cursor: an opaque, url-safe ``(created_at, id)`` position."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from services.kit.errors import InvalidRequest


def write_cursor(at: datetime, referral_id: str) -> str:
    """The opaque cursor of the page after the referral created ``at`` with ``referral_id``."""
    raw = json.dumps([at.isoformat(), referral_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[datetime, str]:
    """The position ``write_cursor`` encoded. Raises ``InvalidRequest`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, referral_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        instant = datetime.fromisoformat(at)
        if instant.tzinfo is None or not isinstance(referral_id, str):
            raise ValueError("incomplete cursor")
        return instant, referral_id
    except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
        raise InvalidRequest("Invalid page.", errors={"page": ["Not a page of this listing."]}) from exc
