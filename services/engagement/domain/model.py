"""The engagement of one participant with the peer group assigned to their referral.

An engagement starts when the peer group accepts the match and the handoff's contact details
are disclosed to it; it ends (contact details purged, every automated message stopped) when the
consent is revoked or expires, or the referral closes. Aggregates record their events
(``self.events``) with ids and codes only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.engagement.domain.schedule import (
    DEFAULT_CADENCE_DAYS,
    ContactWindow,
    first_checkin,
    next_checkin,
)
from services.kit.errors import Conflict

ACTIVE, ENDED = "active", "ended"
MODES = ("call", "text", "video", "in_person")
OUTCOMES = ("reached", "no_answer", "left_message", "rescheduled", "wrong_number")
SUCCESSFUL = ("reached",)
# Check-ins: off until consented; pending while the first text waits for YES; stopped is final.
OFF, PENDING, ON, STOPPED = "off", "pending", "on", "stopped"
CHECKIN_STATES = (OFF, PENDING, ON, STOPPED)
CHANNELS = ("sms", "email")
OPT_IN_METHODS = ("text_reply", "verbal", "written", "electronic")
END_REASONS = ("consent_revoked", "consent_expired", "referral_closed")


class ChangedMeanwhile(Conflict):
    """Another writer saved this engagement (or crisis) after this copy was loaded: the copy is
    stale and was not written. A timer leaves the engagement to its next round; a request loads it afresh and
    tries again (``handlers.changes.retried``). It stays inside the service: what a caller sees
    once the tries run out is a plain ``Conflict``."""


@dataclass
class Engagement:
    agency_id: str
    referral_id: str
    participant_id: str
    consent_id: str
    started_at: datetime
    phone: str | None = None
    email: str | None = None
    language: str = "en"
    status: str = ACTIVE
    ended_reason: str | None = None
    ended_at: datetime | None = None
    first_contact_at: datetime | None = None
    last_contact_at: datetime | None = None
    last_answer_at: datetime | None = None
    checkins: str = OFF
    opt_in_method: str | None = None
    channel: str = "sms"
    cadence_days: int = DEFAULT_CADENCE_DAYS
    window: ContactWindow = field(default_factory=ContactWindow)
    next_checkin_at: datetime | None = None
    silence_level: int = 0
    # The row's version this copy was loaded at; a save writes only over that version.
    version: int = 0
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def time_to_first_contact(self) -> timedelta | None:
        return None if self.first_contact_at is None else self.first_contact_at - self.started_at

    def ensure_active(self) -> None:
        if not self.active:
            raise Conflict("This engagement has ended.")

    # -- contact log --------------------------------------------------------------------------

    def record_contact(self, contact: ContactEntry) -> None:
        self.ensure_active()
        if contact.outcome in SUCCESSFUL:
            if self.first_contact_at is None or contact.contacted_at < self.first_contact_at:
                self.first_contact_at = contact.contacted_at
            if self.last_contact_at is None or contact.contacted_at > self.last_contact_at:
                self.last_contact_at = contact.contacted_at
                self.silence_level = 0
        first = contact.outcome in SUCCESSFUL and self.first_contact_at == contact.contacted_at
        self.events.append(("engagement.contact_logged", {
            "referral_id": self.referral_id, "agency_id": self.agency_id, "contact_id": contact.id,
            "mode": contact.mode, "outcome": contact.outcome, "first_contact": first}))

    # -- check-ins ----------------------------------------------------------------------------

    def start_checkins(self, *, method: str, channel: str | None, cadence_days: int, window: ContactWindow,
                       now: datetime) -> None:
        """Consent to check-ins: ``text_reply`` waits for the participant's YES to the first
        text; a consent the mentor records (verbal, written, electronic) starts them at once.
        Without a ``channel``: by text when a phone was disclosed, by email otherwise."""
        self.ensure_active()
        channel = channel or ("email" if self.email and not self.phone else "sms")
        if self.checkins == STOPPED:
            raise Conflict("The participant asked to stop automated messages.")
        if channel == "sms" and not self.phone:
            raise Conflict("No phone number was disclosed for this participant.")
        if channel == "email" and not self.email:
            raise Conflict("No email address was disclosed for this participant.")
        if channel == "email" and method == "text_reply":
            raise Conflict("A reply by text confirms check-ins by text only; record how the "
                           "participant consented to check-ins by email.")
        self.channel, self.cadence_days, self.window = channel, cadence_days, window
        if method == "text_reply":
            self.checkins, self.opt_in_method, self.next_checkin_at = PENDING, None, None
        else:
            self.confirm_checkins(method, now)

    def confirm_checkins(self, method: str, now: datetime) -> None:
        self.checkins, self.opt_in_method = ON, method
        self.next_checkin_at = first_checkin(now, self.window)

    def checkin_sent(self, now: datetime) -> None:
        self.next_checkin_at = next_checkin(now, self.cadence_days, self.window)

    def answered(self, now: datetime) -> None:
        self.last_answer_at = now
        self.silence_level = 0

    def stop_messages(self) -> bool:
        """STOP: no automated message on any channel from now on. False if already stopped."""
        if self.checkins == STOPPED:
            return False
        self.checkins, self.next_checkin_at = STOPPED, None
        return True

    @property
    def address(self) -> str | None:
        """Where automated messages go: the phone for ``sms``, the email address for ``email``."""
        return self.email if self.channel == "email" else self.phone

    @property
    def messages_allowed(self) -> bool:
        return self.active and self.checkins != STOPPED and self.address is not None

    # -- silence ------------------------------------------------------------------------------

    def last_heard(self) -> datetime:
        return max(t for t in (self.started_at, self.last_contact_at, self.last_answer_at) if t)

    def quiet_level(self, now: datetime, first_days: int, second_days: int) -> int:
        """The silence level ``now`` stands at (0, 1 or 2), whether or not it was reached before."""
        quiet = now - self.last_heard()
        return (2 if quiet >= timedelta(days=second_days)
                else 1 if quiet >= timedelta(days=first_days) else 0)

    def silence(self, now: datetime, first_days: int, second_days: int, *, mentor_id: str | None = None,
                supervisor: str | None = None) -> int | None:
        """The silence level newly reached (1: ``first_days``, 2: ``second_days`` without a
        successful contact or a check-in answer), or None. The second level's event names the
        mentor and their supervisor (ids or references) when they are known."""
        if not self.active:
            return None
        level = self.quiet_level(now, first_days, second_days)
        if level <= self.silence_level:
            return None
        self.silence_level = level
        payload = {"referral_id": self.referral_id, "agency_id": self.agency_id, "level": level,
                   "days": (now - self.last_heard()).days}
        if level == 2:
            payload |= {"mentor_id": mentor_id, "supervisor": supervisor}
        self.events.append(("engagement.silence_detected", payload))
        return level

    # -- the end ------------------------------------------------------------------------------

    def end(self, reason: str, now: datetime) -> bool:
        """Purge the contact details and stop everything. False if already ended."""
        if not self.active:
            return False
        self.status, self.ended_reason, self.ended_at = ENDED, reason, now
        self.phone = self.email = None
        self.checkins, self.next_checkin_at = STOPPED, None
        return True


@dataclass(frozen=True)
class ContactEntry:
    id: str
    agency_id: str
    referral_id: str
    contacted_at: datetime
    mode: str
    outcome: str
    duration_minutes: int | None
    note: str | None
    recorded_by: str
    recorded_at: datetime

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "referral_id": self.referral_id, "contacted_at": self.contacted_at,
                "mode": self.mode, "outcome": self.outcome, "duration_minutes": self.duration_minutes,
                "note": self.note, "recorded_by": self.recorded_by, "recorded_at": self.recorded_at}
