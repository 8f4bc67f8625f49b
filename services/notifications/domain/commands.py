"""What agencies ask of the notifications service, as small imperative messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kit.messages import CallerCommand


@dataclass(frozen=True)
class ChangeSettings(CallerCommand):
    """Replace the caller's settings with ``body`` (validated by ``apply_settings``)."""

    body: Mapping[str, Any]


@dataclass(frozen=True)
class ReadSettings(CallerCommand):
    """The caller's own settings."""


@dataclass(frozen=True)
class SendTestWebhook(CallerCommand):
    """Send a signed test event to the caller's webhook now (its agency's admin only)."""


@dataclass(frozen=True)
class ReadDeliveryLog(CallerCommand):
    """One page of the caller's own deliveries, newest first, after the ``(created_at, id)`` cursor."""

    after: tuple[datetime, str] | None
    limit: int
    status: str | None = None  # only deliveries in this status (pending, deferred, sent, failed)
