"""What agencies ask of the notifications service, as small imperative messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kit.messages import Caller


@dataclass(frozen=True)
class ChangeSettings:
    """Replace the caller's settings with ``body`` (validated by ``apply_settings``)."""

    caller: Caller
    body: Mapping[str, Any]


@dataclass(frozen=True)
class ReadSettings:
    caller: Caller


@dataclass(frozen=True)
class ReadDeliveryLog:
    """One page of the caller's own deliveries, newest first, after the ``(created_at, id)`` cursor."""

    caller: Caller
    after: tuple[datetime, str] | None
    limit: int
