"""What the engagement handler tests share: the clock's start, an always-open contact window, an
on-call ladder, the provider as a list of what it was given, and the link and settings half of
the repository in memory."""

from __future__ import annotations

from datetime import UTC, datetime

from services.engagement.adapters.repository import token_digest
from services.engagement.domain.schedule import ContactWindow
from services.notifications.domain.outcome import SendOutcome

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
ALWAYS = ContactWindow.from_record({"start": "00:00", "end": "23:59", "timezone": "UTC"})
ON_CALL = [{"phone": "+15555550901", "language": "en", "role": "coordinator"}]


class Outbox:
    """Texts and emails as the provider would receive them."""

    def __init__(self) -> None:
        self.sent = []

    def send_message(self, text) -> SendOutcome:
        self.sent.append(text)
        return SendOutcome.sent()

    def kinds(self) -> list[str]:
        return [text.kind for text in self.sent]


class LinksAndSettings:
    """The repository's check-in links, message log and peer group settings, in memory."""

    def __init__(self) -> None:
        self.links: dict[str, dict] = {}
        self.messages: list[dict] = []

    def settings(self, agency_id):
        return {"sender_name": "Bridge", "on_call": ON_CALL, "supervisors": [], "updated_at": START}

    def add_message(self, record):
        self.messages.append(record)

    def add_checkin_link(self, token, agency_id, referral_id, purpose, now, expires_at):
        self.links[token_digest(token)] = {"agency_id": agency_id, "referral_id": referral_id,
                                           "purpose": purpose, "expires_at": expires_at, "used_at": None}

    def checkin_link(self, token):
        return self.links.get(token_digest(token))
