"""What agencies ask of the engagement service, as frozen dataclasses (the caller first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.engagement.domain.schedule import ContactWindow
from services.kit.creations import Creation
from services.kit.messages import CallerCommand


@dataclass(frozen=True)
class LogContact(CallerCommand):
    referral_id: str
    contacted_at: datetime
    mode: str
    outcome: str
    duration_minutes: int | None
    note: str | None
    creation: Creation | None = None


@dataclass(frozen=True)
class ReadEngagement(CallerCommand):
    referral_id: str


@dataclass(frozen=True)
class StartCheckins(CallerCommand):
    referral_id: str
    method: str
    channel: str | None
    cadence_days: int
    window: ContactWindow


@dataclass(frozen=True)
class ChangeSettings(CallerCommand):
    sender_name: str | None
    on_call: list[dict[str, str]]
    supervisors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class AcknowledgeCrisis(CallerCommand):
    crisis_id: str


@dataclass(frozen=True)
class InboundText:
    """A text a participant sent, as the provider's verified webhook carried it."""

    sender: str
    body: str
    message_sid: str | None = None
