"""Engagements, contacts, answers, messages, crises and on-call ladders in and out of their tables.

Sealed columns are bound to table, column and the row's key (which starts with the agency id).

Engagements are saved with optimistic concurrency: ``save`` writes only over the version the copy
was loaded at and raises ``ChangedMeanwhile`` when another writer saved in between, so a stale copy
(a timer's, read before a STOP or a revocation was saved) never writes check-ins back on or
contact details back in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.orm import Session

from services.engagement.adapters.orm import (
    assessments,
    checkin_answers,
    checkin_links,
    contacts,
    crises,
    engagements,
    messages,
    on_call,
)
from services.engagement.domain.model import ACTIVE, ON, ChangedMeanwhile, ContactEntry, Engagement
from services.engagement.domain.schedule import ContactWindow
from services.kit.creations import Creations
from services.kit.crypto import KeyRing
from services.kit.encrypted import seal, unseal

_PLAIN = ("participant_id", "consent_id", "started_at", "language", "status", "ended_reason", "ended_at",
          "first_contact_at", "last_contact_at", "last_answer_at", "checkins", "opt_in_method",
          "channel", "cadence_days", "next_checkin_at", "silence_level")


def token_digest(token: str) -> str:
    """What is kept of a questionnaire link's token: its SHA-256 (the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def phone_digest(key: bytes, phone: str) -> str:
    """The keyed digest an inbound text's sender is looked up by."""
    return hmac.new(key, phone.strip().encode(), hashlib.sha256).hexdigest()


class EngagementRepository:
    def __init__(self, session: Session, ring: KeyRing, lookup_key: bytes) -> None:
        self.session = session
        self.ring = ring
        self.lookup_key = lookup_key

    # -- engagements --------------------------------------------------------------------------

    def add(self, engagement: Engagement) -> None:
        self.session.execute(insert(engagements).values(**self._row(engagement)))

    def save(self, engagement: Engagement) -> None:
        """Write the engagement over the version it was loaded at, and raise that version.

        ``ChangedMeanwhile`` when the row is no longer at that version: nothing is written. On
        PostgreSQL a concurrent writer's uncommitted update holds the row, and this one then
        checks the version that writer committed; on SQLite one writer at a time runs it."""
        row = self._row(engagement)
        written = self.session.execute(update(engagements).where(*_at_loaded_version(engagement))
                                       .values({**row, "version": engagement.version + 1}))
        if written.rowcount != 1:
            raise ChangedMeanwhile("The engagement changed meanwhile; try again.")
        engagement.version += 1

    def get(self, agency_id: str, referral_id: str) -> Engagement | None:
        row = self.session.execute(select(engagements).where(
            engagements.c.agency_id == agency_id, engagements.c.referral_id == referral_id)).first()
        return self._load(row) if row else None

    def of_referral(self, referral_id: str) -> list[Engagement]:
        rows = self.session.execute(select(engagements).where(engagements.c.referral_id == referral_id))
        return [self._load(row) for row in rows]

    def of_consent(self, consent_id: str) -> list[Engagement]:
        rows = self.session.execute(select(engagements).where(
            engagements.c.consent_id == consent_id, engagements.c.status == ACTIVE))
        return [self._load(row) for row in rows]

    def by_phone(self, phone: str) -> list[Engagement]:
        rows = self.session.execute(select(engagements).where(
            engagements.c.phone_digest == phone_digest(self.lookup_key, phone),
            engagements.c.status == ACTIVE))
        return [self._load(row) for row in rows]

    def due_checkins(self, now: datetime, limit: int = 100) -> list[Engagement]:
        rows = self.session.execute(select(engagements).where(
            engagements.c.status == ACTIVE, engagements.c.checkins == ON,
            engagements.c.next_checkin_at <= now).order_by(engagements.c.next_checkin_at).limit(limit))
        return [self._load(row) for row in rows]

    def unchanged(self, engagement: Engagement) -> bool:
        """Whether the row is still at the version ``engagement`` was loaded at. It then stays so
        until this transaction ends (the check holds the row as a write would), so what is sent
        on the strength of this copy is not sent after a STOP or an ending saved meanwhile."""
        held = self.session.execute(update(engagements).where(*_at_loaded_version(engagement))
                                    .values(version=engagements.c.version))
        return held.rowcount == 1

    def active(self, limit: int = 1000) -> list[Engagement]:
        rows = self.session.execute(select(engagements).where(engagements.c.status == ACTIVE)
                                    .order_by(engagements.c.started_at).limit(limit))
        return [self._load(row) for row in rows]

    def _row(self, e: Engagement) -> dict[str, Any]:
        sealed = seal(self.ring, "engagements", f"{e.agency_id}:{e.referral_id}",
                      {"phone": e.phone, "email": e.email})
        digest = phone_digest(self.lookup_key, e.phone) if e.phone else None
        return {"agency_id": e.agency_id, "referral_id": e.referral_id, **sealed, "phone_digest": digest,
                "contact_window": e.window.to_record(), "version": e.version,
                **{name: getattr(e, name) for name in _PLAIN}}

    def _load(self, row) -> Engagement:
        m = row._mapping
        plain = unseal(self.ring, "engagements", f"{m['agency_id']}:{m['referral_id']}",
                       {"phone": m["phone"], "email": m["email"]})
        return Engagement(agency_id=m["agency_id"], referral_id=m["referral_id"], **plain,
                          window=ContactWindow.from_record(m["contact_window"]), version=m["version"],
                          **{name: m[name] for name in _PLAIN})

    # -- contact log --------------------------------------------------------------------------

    def add_contact(self, c: ContactEntry) -> None:
        sealed = seal(self.ring, "contacts", f"{c.agency_id}:{c.id}", {"note": c.note})
        self.session.execute(insert(contacts).values(
            agency_id=c.agency_id, id=c.id, referral_id=c.referral_id, contacted_at=c.contacted_at,
            mode=c.mode, outcome=c.outcome, duration_minutes=c.duration_minutes, **sealed,
            recorded_by=c.recorded_by, recorded_at=c.recorded_at))

    def get_contact(self, agency_id: str, contact_id: str) -> ContactEntry | None:
        row = self.session.execute(select(contacts).where(
            contacts.c.agency_id == agency_id, contacts.c.id == contact_id)).first()
        return self._contact(row) if row else None

    def contacts(self, agency_id: str, referral_id: str) -> list[ContactEntry]:
        rows = self.session.execute(select(contacts).where(
            contacts.c.agency_id == agency_id, contacts.c.referral_id == referral_id)
            .order_by(contacts.c.contacted_at, contacts.c.id))
        return [self._contact(row) for row in rows]

    def _contact(self, row) -> ContactEntry:
        m = dict(row._mapping)
        m.update(unseal(self.ring, "contacts", f"{m['agency_id']}:{m['id']}", {"note": m["note"]}))
        return ContactEntry(**m)

    # -- check-in answers ---------------------------------------------------------------------

    def add_answer(self, agency_id: str, answer_id: str, referral_id: str, at: datetime, kind: str,
                   score: int | None, word: str | None) -> None:
        sealed = seal(self.ring, "checkin_answers", f"{agency_id}:{answer_id}", {"word": word})
        self.session.execute(insert(checkin_answers).values(
            agency_id=agency_id, id=answer_id, referral_id=referral_id, received_at=at, kind=kind,
            score=score, **sealed))

    def answers(self, agency_id: str, referral_id: str) -> list[dict[str, Any]]:
        rows = self.session.execute(select(checkin_answers).where(
            checkin_answers.c.agency_id == agency_id, checkin_answers.c.referral_id == referral_id)
            .order_by(checkin_answers.c.received_at))
        out = []
        for row in rows:
            m = row._mapping
            word = unseal(self.ring, "checkin_answers", f"{agency_id}:{m['id']}", {"word": m["word"]})["word"]
            out.append({"id": m["id"], "received_at": m["received_at"], "kind": m["kind"],
                        "score": m["score"], "word": word})
        return out

    # -- what was sent ------------------------------------------------------------------------

    def add_message(self, record: dict[str, Any]) -> None:
        self.session.execute(insert(messages).values(**record))

    def messages(self, agency_id: str, referral_id: str) -> list[dict[str, Any]]:
        rows = self.session.execute(select(messages).where(
            messages.c.agency_id == agency_id, messages.c.referral_id == referral_id)
            .order_by(messages.c.sent_at, messages.c.id))
        return [{k: row._mapping[k] for k in ("id", "kind", "channel", "status", "sent_at")} for row in rows]

    # -- purging ------------------------------------------------------------------------------

    def purge_personal(self, agency_id: str, referral_id: str) -> None:
        """Drop the notes and free words kept about this participant (times and codes stay)."""
        self.session.execute(update(contacts).where(and_(
            contacts.c.agency_id == agency_id, contacts.c.referral_id == referral_id)).values(note=None))
        self.session.execute(update(checkin_answers).where(and_(
            checkin_answers.c.agency_id == agency_id,
            checkin_answers.c.referral_id == referral_id)).values(word=None))

    # -- BARC-10 questionnaires --------------------------------------------------------------

    def add_assessment(self, record: dict[str, Any]) -> None:
        self.session.execute(insert(assessments).values(**record))

    def save_assessment(self, record: dict[str, Any]) -> None:
        self.session.execute(update(assessments).where(
            assessments.c.agency_id == record["agency_id"],
            assessments.c.id == record["id"]).values(**record))

    def assessments_due(self, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.session.execute(select(assessments).where(
            assessments.c.sent_at.is_(None), assessments.c.completed_at.is_(None),
            assessments.c.due_at <= now).order_by(assessments.c.due_at).limit(limit))
        return [dict(row._mapping) for row in rows]

    def assessment_by_token(self, token: str) -> dict[str, Any] | None:
        row = self.session.execute(select(assessments).where(
            assessments.c.token_digest == token_digest(token))).first()
        return dict(row._mapping) if row else None

    def assessments_of(self, agency_id: str, referral_id: str) -> list[dict[str, Any]]:
        rows = self.session.execute(select(assessments).where(
            assessments.c.agency_id == agency_id, assessments.c.referral_id == referral_id)
            .order_by(assessments.c.due_at))
        return [dict(row._mapping) for row in rows]

    def drop_assessment_links(self, agency_id: str, referral_id: str) -> None:
        self.session.execute(update(assessments).where(
            assessments.c.agency_id == agency_id, assessments.c.referral_id == referral_id)
            .values(token_digest=None))

    # -- the links of check-in emails ---------------------------------------------------------

    def add_checkin_link(self, token: str, agency_id: str, referral_id: str, purpose: str,
                         now: datetime, expires_at: datetime | None) -> None:
        self.session.execute(insert(checkin_links).values(
            token_digest=token_digest(token), agency_id=agency_id, referral_id=referral_id,
            purpose=purpose, created_at=now, expires_at=expires_at, used_at=None))

    def checkin_link(self, token: str) -> dict[str, Any] | None:
        row = self.session.execute(select(checkin_links).where(
            checkin_links.c.token_digest == token_digest(token))).first()
        return dict(row._mapping) if row else None

    def use_checkin_link(self, token: str, now: datetime) -> None:
        self.session.execute(update(checkin_links).where(
            checkin_links.c.token_digest == token_digest(token)).values(used_at=now))

    def drop_checkin_links(self, agency_id: str, referral_id: str) -> None:
        self.session.execute(delete(checkin_links).where(
            checkin_links.c.agency_id == agency_id, checkin_links.c.referral_id == referral_id))

    # -- crises and the on-call ladder --------------------------------------------------------

    def set_settings(self, agency_id: str, sender_name: str | None, ladder: list[dict[str, str]],
                     now: datetime, supervisors: list[dict[str, str]] | None = None) -> None:
        # One sealed document: the on-call ladder and the supervisors' phones (a bare list, as
        # rows written before supervisors were kept hold, is the ladder alone).
        document = {"on_call": ladder, "supervisors": supervisors or []}
        sealed = seal(self.ring, "on_call", agency_id, {"ladder": json.dumps(document)})
        self.session.execute(delete(on_call).where(on_call.c.agency_id == agency_id))
        self.session.execute(insert(on_call).values(agency_id=agency_id, **sealed, sender_name=sender_name,
                                                    updated_at=now))

    def settings(self, agency_id: str) -> dict[str, Any]:
        """``{"sender_name", "on_call": [{"phone", "language", "role"}],
        "supervisors": [{"ref", "phone", "language"}], "updated_at"}``."""
        row = self.session.execute(select(on_call).where(on_call.c.agency_id == agency_id)).first()
        if row is None:
            return {"sender_name": None, "on_call": [], "supervisors": [], "updated_at": None}
        document = json.loads(unseal(self.ring, "on_call", agency_id, {"ladder": row.ladder})["ladder"])
        if isinstance(document, list):
            document = {"on_call": document, "supervisors": []}
        return {"sender_name": row.sender_name, "on_call": document["on_call"],
                "supervisors": document.get("supervisors") or [], "updated_at": row.updated_at}

    def add_crisis(self, record: dict[str, Any]) -> None:
        self.session.execute(insert(crises).values(**record))

    def save_crisis(self, record: dict[str, Any], *, loaded_step: int) -> None:
        """Write a crisis over the state it was loaded in: unacknowledged, at ``loaded_step``.
        ``ChangedMeanwhile`` (nothing written) when it was acknowledged or escalated since, so an
        escalation read before an acknowledgement never writes the acknowledgement away."""
        written = self.session.execute(update(crises).where(
            crises.c.id == record["id"], crises.c.acknowledged_at.is_(None),
            crises.c.step == loaded_step).values(**record))
        if written.rowcount != 1:
            raise ChangedMeanwhile("The crisis changed meanwhile; try again.")

    def crisis(self, crisis_id: str) -> dict[str, Any] | None:
        row = self.session.execute(select(crises).where(crises.c.id == crisis_id)).first()
        return dict(row._mapping) if row else None

    def crises_of(self, agency_id: str, referral_id: str) -> list[dict[str, Any]]:
        rows = self.session.execute(select(crises).where(
            crises.c.agency_id == agency_id, crises.c.referral_id == referral_id)
            .order_by(crises.c.signaled_at))
        return [dict(row._mapping) for row in rows]

    def unacknowledged_due(self, now: datetime) -> list[dict[str, Any]]:
        rows = self.session.execute(select(crises).where(
            crises.c.acknowledged_at.is_(None), crises.c.next_escalation_at <= now))
        return [dict(row._mapping) for row in rows]


def engagement_repositories(session: Session, ring: KeyRing, lookup_key: bytes) -> dict[str, Any]:
    return {"engagements": EngagementRepository(session, ring, lookup_key), "creations": Creations(session)}


def _at_loaded_version(engagement: Engagement) -> tuple:
    """The engagement's row, only while it is still at the version this copy was loaded at."""
    return (engagements.c.agency_id == engagement.agency_id,
            engagements.c.referral_id == engagement.referral_id,
            engagements.c.version == engagement.version)
