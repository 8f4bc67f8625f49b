"""The engagement service: contact log, check-ins, crisis alerts and silence after the handoff.

Run with ``nameko run --config services/engagement/config.yml services.engagement.service``.
Each entrypoint loads the caller and the body, calls one handler and dumps; the work is in
``handlers``.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.engagement import schemas as s
from services.engagement.adapters.mentors import MentorDirectory
from services.engagement.adapters.orm import metadata
from services.engagement.adapters.referrals import ReferralsClient
from services.engagement.adapters.repository import engagement_repositories
from services.engagement.adapters.sms import Texts
from services.engagement.domain.commands import (
    AcknowledgeCrisis,
    ChangeSettings,
    InboundText,
    LogContact,
    ReadEngagement,
    StartCheckins,
)
from services.engagement.domain.schedule import ContactWindow
from services.engagement.domain.words import Vocabulary
from services.engagement.handlers import assessments, checkins, contacts, crisis, lifecycle, settings, silence
from services.kit.config import ConfigError
from services.kit.contract import Event
from services.kit.creations import creation_of
from services.kit.dependencies import Clock, Database
from services.kit.entrypoints import every, rpc, subscribe
from services.kit.messages import load, load_caller, shared
from services.kit.resolver import resolve_on_threads
from services.kit.rpc import ServiceClient

resolve_on_threads()  # before anything resolves a name (services/kit/resolver.py)


class EngagementDatabase(Database):
    """The kit's database, whose repositories also know the key that digests phone numbers
    (``ENGAGEMENT_LOOKUP_KEY``, base64 of 32 bytes, a secret from the environment)."""

    def setup(self) -> None:
        super().setup()
        spec = self.container.config.get("ENGAGEMENT_LOOKUP_KEY")
        if not spec or spec == "None":
            raise ConfigError("ENGAGEMENT_LOOKUP_KEY is not set (base64 of 32 bytes)")
        self.lookup_key = base64.b64decode(str(spec))

    def _repositories_of(self, session: Session) -> dict[str, Any]:
        return engagement_repositories(session, self.ring, self.lookup_key)


class Words(DependencyProvider):
    """The words texts are read with; ``CRISIS_WORDS`` (JSON ``{"es": [...]}``) replaces a
    language's crisis phrases."""

    def setup(self) -> None:
        configured = self.container.config.get("CRISIS_WORDS") or {}
        if isinstance(configured, str):
            configured = json.loads(configured) if configured.strip() not in ("", "None") else {}
        self.vocabulary = Vocabulary(configured)

    def get_dependency(self, worker_ctx) -> Vocabulary:
        return self.vocabulary


class EngagementService:
    name = "engagement"

    db = EngagementDatabase(metadata, sealed=True)
    clock = Clock()
    config = Config()
    texts = Texts()
    words = Words()
    referrals = ServiceClient("referrals", timeout_key="REFERRALS_RPC_TIMEOUT_SECONDS")
    matching = ServiceClient("matching")

    @rpc
    def ping(self) -> str:
        return "ok"

    @rpc
    def health(self) -> dict[str, str]:
        """This process's view of its database, for ``GET /ready``: ``{"database": "ok"}``."""
        return {"database": self.db.check()}

    @rpc
    def log_contact(self, caller: dict, referral_id: str, request: dict,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.IdSchema), {"id": referral_id})
        body = load(shared(s.ContactCreateRequest), request)
        creation = creation_of(asking.agency_id, idempotency_key, {**request, "referral_id": referral_id})
        command = LogContact(asking, referral_id, **body, creation=creation)
        return shared(s.ContactResult).dump(contacts.log_contact(command, self.db, self.clock()))

    @rpc
    def get(self, caller: dict, referral_id: str) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.IdSchema), {"id": referral_id})
        view = contacts.read_engagement(ReadEngagement(asking, referral_id), self.db)
        return shared(s.EngagementResult).dump(view)

    @rpc
    def start_checkins(self, caller: dict, referral_id: str, request: dict) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.IdSchema), {"id": referral_id})
        body = load(shared(s.CheckinStartRequest), request)
        command = StartCheckins(asking, referral_id, body["method"], body["channel"], body["cadence_days"],
                                ContactWindow.from_record(body["contact_window"]))
        view = checkins.start_checkins(command, self.db, self.texts, self.clock())
        return shared(s.EngagementResult).dump(view)

    @rpc
    def put_settings(self, caller: dict, request: dict) -> dict[str, Any]:
        asking = load_caller(caller)
        body = load(shared(s.EngagementSettingsRequest), request)
        command = ChangeSettings(asking, body["sender_name"], body["on_call"], body["supervisors"])
        return shared(s.EngagementSettingsResult).dump(settings.put_settings(command, self.db, self.clock()))

    @rpc
    def get_settings(self, caller: dict) -> dict[str, Any]:
        return shared(s.EngagementSettingsResult).dump(settings.get_settings(load_caller(caller), self.db))

    @rpc
    def acknowledge_crisis(self, caller: dict, crisis_id: str) -> dict[str, Any]:
        asking = load_caller(caller)
        load(shared(s.IdSchema), {"id": crisis_id})
        view = crisis.acknowledge(AcknowledgeCrisis(asking, crisis_id), self.db, self.clock())
        return shared(s.CrisisResult).dump(view)

    @rpc
    def receive_text(self, sender: str, body: str, message_sid: str | None = None) -> dict[str, Any]:
        """A participant's text, from the gateway's verified provider webhook."""
        command = InboundText(str(sender), str(body)[:1600], message_sid)
        return checkins.receive_text(command, self.db, self.texts, self.words, self.clock(),
                                     self._ack_after())

    @subscribe("referral.status_changed")
    def on_referral_status_changed(self, event: Event) -> None:
        lifecycle.on_referral_status_changed(event, self.db, ReferralsClient(self.referrals), self.clock())

    @subscribe("consent.revoked", "consent.expired")
    def on_consent_ended(self, event: Event) -> None:
        lifecycle.consent_ended(event, self.db, self.clock())

    @every("CHECKIN_INTERVAL_SECONDS", 30.0)
    def send_checkins(self) -> None:
        checkins.send_due(self.db, self.texts, self.clock(),
                          base_url=str(self.config.get("PUBLIC_BASE_URL", "")),
                          link_valid_for=timedelta(days=float(self.config.get("CHECKIN_LINK_DAYS", 7))))

    @rpc
    def checkin_form(self, token: str) -> dict[str, Any]:
        """The one-question form a check-in email's link opens (``NotFound`` once used or expired)."""
        return shared(s.CheckinForm).dump(checkins.checkin_form(str(token), self.db, self.clock()))

    @rpc
    def answer_checkin(self, token: str, answers: dict) -> dict[str, Any]:
        """The form's answer: ``score`` (1-5) and/or ``word``; the link is used up."""
        given = {k: v for k, v in dict(answers).items() if v not in (None, "")}
        found = load(shared(s.CheckinFormAnswer), given)
        done = checkins.answer_by_link(str(token), found.get("score"), found.get("word"), self.db, self.texts,
                                       self.words, self.clock(), self._ack_after())
        return shared(s.CheckinDone).dump(done)

    @rpc
    def checkin_stop_page(self, token: str) -> dict[str, Any]:
        """The page of a check-in email's stop link (nothing changes until its button)."""
        return shared(s.CheckinForm).dump(checkins.stop_page(str(token), self.db, self.clock()))

    @rpc
    def stop_checkins_by_link(self, token: str) -> dict[str, Any]:
        """The one-click stop: every automated message ends."""
        stopped = checkins.stop_by_link(str(token), self.db, self.texts, self.clock())
        return shared(s.CheckinDone).dump(stopped)

    @rpc
    def assessment_form(self, token: str) -> dict[str, Any]:
        """The questionnaire a link opens (``NotFound`` once used or expired)."""
        return shared(s.AssessmentForm).dump(assessments.form(str(token), self.db, self.clock()))

    @rpc
    def complete_assessment(self, token: str, answers: dict) -> dict[str, Any]:
        """Record a questionnaire's answers; the link is used up."""
        done = assessments.complete(str(token), dict(answers), self.db, self.clock())
        return shared(s.AssessmentDone).dump(done)

    @every("ASSESSMENT_CHECK_SECONDS", 60.0)
    def send_assessments(self) -> None:
        valid_for = timedelta(days=float(self.config.get("ASSESSMENT_LINK_DAYS", 7)))
        assessments.send_due(self.db, self.texts, self.clock(), str(self.config.get("PUBLIC_BASE_URL", "")),
                             valid_for, checkins.sender_name)

    @every("CRISIS_CHECK_SECONDS", 15.0)
    def escalate_crises(self) -> None:
        crisis.escalate(self.db, self.texts, self.clock(), self._ack_after())

    @every("SILENCE_CHECK_SECONDS", 300.0)
    def detect_silence(self) -> None:
        silence.check_silence(self.db, self.texts, self.clock(),
                              int(self.config.get("SILENCE_FIRST_DAYS", 7)),
                              int(self.config.get("SILENCE_SECOND_DAYS", 14)),
                              MentorDirectory(self.referrals, self.matching))

    def _ack_after(self) -> timedelta:
        return timedelta(minutes=float(self.config.get("CRISIS_ACK_MINUTES", 10)))
