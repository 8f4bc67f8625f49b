"""Each agency's notification settings: where, in which language, when, and what.

The gateway passes the agency's id, kind and roles; the agency itself sets the
rest through ``PUT /v1/notification-settings`` (docs/api.md, "Notification settings"), which
``settings_request.apply_settings`` validates.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from services.kit import vocabulary as v
from services.notifications.domain import message as m

SECRET_PREFIX = "whsec_"

# A channel only carries messages once it is configured (a URL, an address, a number).
# SMS is for what cannot wait until someone reads their inbox.
DEFAULT_CHANNELS: dict[str, frozenset[str]] = {
    "webhook": frozenset(m.MESSAGE_KINDS),
    "email": frozenset(m.MESSAGE_KINDS),
    "sms": frozenset({m.MATCH_PROPOSED, m.REFERRAL_ESCALATED}),
}
# The setting a channel needs before it carries anything.
CHANNEL_NEEDS = {"webhook": "webhook_url", "email": "email", "sms": "phone"}


def new_webhook_secret() -> str:
    """A fresh random secret; it is shown to the agency once and kept for signing."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class QuietHours:
    """A daily window in the recipient's zone; ``start > end`` crosses midnight."""

    start: time
    end: time
    timezone: str

    @classmethod
    def parse(cls, start: str, end: str, timezone: str) -> QuietHours:
        """From "HH:MM" strings; ``settings_request`` validates what agencies send."""
        return cls(time.fromisoformat(start), time.fromisoformat(end), timezone)

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M"),
                "timezone": self.timezone}


@dataclass(frozen=True)
class AgencySettings:
    """Where, how and when one agency hears from the network.

    ``agency_kind`` and ``roles`` come from the gateway (an ``admin`` role makes the
    agency a network admin, which receives escalations); ``channels`` maps each
    channel to the message kinds it carries, and a channel without its address,
    URL or number carries nothing. ``webhook_secret`` is kept for signing (store
    it encrypted) and is left out of ``repr``.
    """

    agency_id: str
    agency_kind: str
    roles: tuple[str, ...] = ()
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    email: str | None = None
    phone: str | None = None
    language: str = "en"
    quiet_hours: QuietHours | None = None
    channels: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_CHANNELS))

    @property
    def is_network_admin(self) -> bool:
        """The network operator: it hears of urgent proposals nobody answered (ids only)."""
        return "operator" in self.roles

    @property
    def timezone(self) -> str:
        return self.quiet_hours.timezone if self.quiet_hours else "UTC"

    def channels_for(self, kind: str) -> list[str]:
        """The configured channels subscribed to ``kind``, in the vocabulary's order."""
        return [c for c in v.CHANNELS
                if getattr(self, CHANNEL_NEEDS[c]) and kind in self.channels.get(c, ())]

    def public_view(self, revealed_secret: str | None = None) -> dict[str, Any]:
        """The settings as the agency reads them; the secret only when just created."""
        view: dict[str, Any] = {
            "agency_id": self.agency_id,
            "webhook_url": self.webhook_url,
            "email": self.email,
            "phone": self.phone,
            "language": self.language,
            "quiet_hours": self.quiet_hours.to_dict() if self.quiet_hours else None,
            "channels": {c: sorted(kinds) for c, kinds in self.channels.items()},
            "webhook_secret_set": self.webhook_secret is not None,
        }
        if revealed_secret:
            view["webhook_secret"] = revealed_secret
        return view

    def to_record(self) -> dict[str, Any]:
        """Everything, secret included, for the service's own table."""
        return {**self.public_view(), "agency_kind": self.agency_kind, "roles": list(self.roles),
                "webhook_secret": self.webhook_secret}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AgencySettings:
        """From ``to_record``; raises ``KeyError`` when the id or kind is missing."""
        quiet = record.get("quiet_hours")
        return cls(
            agency_id=record["agency_id"], agency_kind=record["agency_kind"],
            roles=tuple(record.get("roles", ())), webhook_url=record.get("webhook_url"),
            webhook_secret=record.get("webhook_secret"), email=record.get("email"),
            phone=record.get("phone"), language=record.get("language", "en"),
            quiet_hours=QuietHours.parse(quiet["start"], quiet["end"], quiet["timezone"])
            if quiet else None,
            channels={c: frozenset(k) for c, k in record.get("channels", DEFAULT_CHANNELS).items()},
        )
