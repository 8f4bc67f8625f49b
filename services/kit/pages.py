"""Page cursors of the lists: an opaque, url-safe ``(instant, id)`` position in a listing.

Every list the network serves is paginated by keyset (the instant and id of a page's last row),
never by offset, so a page does not shift when rows are added before it. Each list has a maximum
page size (``MAX_PAGE_SIZE`` unless it says otherwise).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from services.kit.errors import InvalidRequest

MAX_PAGE_SIZE = 100


def write_cursor(at: datetime, row_id: str) -> str:
    """The opaque cursor of the page after the row at ``at`` with ``row_id``."""
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[datetime, str]:
    """The position ``write_cursor`` encoded. Raises ``InvalidRequest`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        instant = datetime.fromisoformat(at)
        if instant.tzinfo is None or not isinstance(row_id, str):
            raise ValueError("incomplete cursor")
        return instant, row_id
    except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
        raise InvalidRequest("Invalid page.", errors={"page": ["Not a page of this listing."]}) from exc
