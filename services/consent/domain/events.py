"""What happened to a consent, as the aggregate records it.

Each event's fields (other than ``occurred_at``, which goes on the envelope) are exactly
the fields of its payload in ``services.kit.contract``; ``payload()`` gives that payload.
Events carry ids, recipients, purposes and dates only: never a participant's details.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from services.consent.domain.elements import format_instant


@dataclass(frozen=True)
class ConsentEvent:
    """Base of the consent service's domain events: each one names its consent and participant first.

    ``occurred_at`` comes last, in each event's own fields.
    """

    type: ClassVar[str]
    # False for what is ledgered but not published (no other service acts on it).
    published: ClassVar[bool] = True

    consent_id: str
    participant_id: str

    def payload(self) -> dict[str, Any]:
        """The event contract payload (JSON-ready) for this event."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "occurred_at":
                continue
            value = getattr(self, f.name)
            out[f.name] = format_instant(value) if isinstance(value, datetime) else _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ConsentGranted(ConsentEvent):
    type: ClassVar[str] = "consent.granted"

    disclosers: tuple[str, ...]
    recipients: dict[str, list[str]]  # {"agencies": [ids], "classes": [kinds]}
    purposes: tuple[str, ...]
    data_classes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None
    expires_on: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class ConsentRevoked(ConsentEvent):
    """Some or all recipients were taken off; ``full`` means nothing remains in force."""

    type: ClassVar[str] = "consent.revoked"

    revoked: dict[str, list[str]]
    remaining: dict[str, list[str]]
    full: bool
    occurred_at: datetime


@dataclass(frozen=True)
class ConsentExpired(ConsentEvent):
    type: ClassVar[str] = "consent.expired"

    occurred_at: datetime


@dataclass(frozen=True)
class ConsentAttested(ConsentEvent):
    """A named discloser confirmed it discloses under the consent: it is covered from now on.

    Ledgered, not published: what other services act on (recipients, purposes, dates) is
    unchanged, and ``authorize`` decides who may disclose.
    """

    type: ClassVar[str] = "consent.attested"
    published: ClassVar[bool] = False

    discloser: str
    occurred_at: datetime
