"""Referrals in and out of their tables: rows ↔ the ``Referral`` aggregate, sealing on the way.

The repository remembers the version of each referral it loaded; ``save`` writes only if no
one else saved in between (optimistic concurrency), else ``Conflict``. History is append-only.

A row whose sealed cells fail their integrity check (``DecryptionError``: tampered, moved or
keyless) is logged as one integrity alert naming the table and row id, never a value. A
listing carries it as an ``UnreadableReferral``; loading it as an aggregate (to read one or to
change it) raises ``Conflict``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Insert, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from services.kit.creations import Creations
from services.kit.crypto import KeyRing
from services.kit.db import hold_transaction_lock, insert_for
from services.kit.encrypted import seal, unseal
from services.kit.errors import Conflict
from services.kit.pages import read_cursor, write_cursor
from services.kit.vocabulary import FINAL_REFERRAL_STATUSES
from services.referrals.adapters.integrity import readable, unseal_or_alert
from services.referrals.adapters.orm import consent_endings, handoff_packets, referral_history, referrals
from services.referrals.domain import HistoryEntry, MatchInfo, Referral
from services.referrals.domain.criteria import stored_needs
from services.referrals.domain.filters import ReferralFilters
from services.referrals.domain.unreadable import UnreadableReferral

# Built once: creating a referral and every match or consent event run them
# (``services/kit/unit_of_work.py:kit_statements``).
_ADD = insert(referrals)
# A referral with its history in one statement: one row per history entry (a referral always
# has one), the referral's columns repeated on each, the entry's prefixed ``h_``.
_HISTORY_COLUMNS = [c.label(f"h_{c.name}") for c in referral_history.c]
_GET = (select(referrals, *_HISTORY_COLUMNS)
        .outerjoin(referral_history, referral_history.c.referral_id == referrals.c.id)
        .where(referrals.c.id == bindparam("referral_id"))
        .order_by(referral_history.c.seq))
# The columns set are the execute parameters named after them (``version`` and ``_state``).
_SAVE = update(referrals).where(referrals.c.id == bindparam("b_id"),
                                referrals.c.version == bindparam("b_version"))
_RELYING_ON = (select(referrals)
               .where(referrals.c.consent_id == bindparam("consent_id"),
                      referrals.c.status.not_in(FINAL_REFERRAL_STATUSES))
               .order_by(referrals.c.id))
_WITH_EXTERNAL_ID = select(referrals.c.id).where(
    referrals.c.referrer_agency_id == bindparam("referrer_agency_id"),
    referrals.c.external_id == bindparam("external_id"),
    referrals.c.external_id_system == bindparam("system"))
_WITH_EXTERNAL_ID_NO_SYSTEM = select(referrals.c.id).where(
    referrals.c.referrer_agency_id == bindparam("referrer_agency_id"),
    referrals.c.external_id == bindparam("external_id"),
    referrals.c.external_id_system.is_(None))
_ADD_HISTORY = insert(referral_history)
_HISTORIES = (select(referral_history)
              .where(referral_history.c.referral_id.in_(bindparam("referral_ids", expanding=True)))
              .order_by(referral_history.c.referral_id, referral_history.c.seq))
_ENDINGS_OF = (select(consent_endings.c.type, consent_endings.c.scope)
               .where(consent_endings.c.consent_id == bindparam("consent_id"))
               .order_by(consent_endings.c.occurred_at, consent_endings.c.event_id))
_ADD_HANDOFF = insert(handoff_packets)
_HANDOFF = select(handoff_packets).where(handoff_packets.c.id == bindparam("referral_id"))
_DROP_HANDOFF = delete(handoff_packets).where(handoff_packets.c.id == bindparam("referral_id"))


def consent_lock(consent_id: str) -> str:
    """The name of the transaction lock that ``hold_consent`` takes (``record_creation`` may
    take it with the creation's record)."""
    return f"referrals.consent:{consent_id}"


@cache
def _remember_ending(dialect: str) -> Insert:
    """A consent ending, unless its event is kept already: built once per dialect."""
    return insert_for(dialect)(consent_endings).on_conflict_do_nothing(index_elements=["event_id"])


class ReferralRepository:
    """Loads and saves referrals within the caller's session (the unit of work commits)."""

    def __init__(self, session: Session, ring: KeyRing) -> None:
        self.session = session
        self.ring = ring
        # id → (version, history entries, handoff open) as this unit of work read or wrote it
        self._loaded: dict[str, tuple[int, int, bool]] = {}

    # -- aggregates ---------------------------------------------------------------------------

    def add(self, referral: Referral) -> None:
        sealed = seal(self.ring, "referrals", referral.id, {
            "reason": referral.reason, "needs": json.dumps(referral.needs)})
        self.session.execute(_ADD, {
            "id": referral.id, "referrer_agency_id": referral.referrer_agency_id,
            "participant_id": referral.participant_id, "consent_id": referral.consent_id,
            "urgency": referral.urgency, "created_at": referral.history[0].at, "version": 1,
            "external_id": referral.external_id, "external_id_system": referral.external_id_system,
            **sealed, **self._state(referral)})
        self._append_history(referral, start=0)
        self._loaded[referral.id] = (1, len(referral.history), referral.handoff_open)

    def get(self, referral_id: str) -> Referral | None:
        rows = self.session.execute(_GET, {"referral_id": referral_id}).all()
        if not rows:
            return None
        history = [_HistoryRow(*(getattr(row, field) for field in _HISTORY_FIELDS)) for row in rows
                   if row.h_id is not None]
        return readable(self._load(rows[:1], history))[0]

    def save(self, referral: Referral) -> None:
        """Write the referral's changes. Raises ``Conflict`` if it changed since it was loaded."""
        version, known, was_open = self._loaded[referral.id]
        written = self.session.execute(_SAVE, {
            "b_id": referral.id, "b_version": version, "version": version + 1, **self._state(referral)})
        if written.rowcount != 1:
            raise Conflict("The referral changed meanwhile; try again.")
        self._append_history(referral, start=known)
        self._loaded[referral.id] = (version + 1, len(referral.history), referral.handoff_open)
        if was_open and not referral.handoff_open:
            # A closed handoff keeps no copy of what was disclosed. A packet is stored only
            # with the handoff open, so a referral whose handoff was not open has none to drop.
            self.session.execute(_DROP_HANDOFF, {"referral_id": referral.id})

    def relying_on(self, consent_id: str) -> list[Referral]:
        """Every referral not yet final that rests on ``consent_id``.

        Raises ``Conflict`` if one of them fails its integrity check (the event is retried, then parked).
        """
        rows = self.session.execute(_RELYING_ON, {"consent_id": consent_id}).all()
        return readable(self._load(rows))

    # -- consent endings ----------------------------------------------------------------------

    def hold_consent(self, consent_id: str) -> None:
        """Until commit, keep the other creations and ending handlers of this consent waiting."""
        hold_transaction_lock(self.session, consent_lock(consent_id))

    def remember_ending(self, event_id: str, event_type: str, payload: Mapping[str, Any],
                        occurred_at: datetime) -> None:
        """Keep a consent ending heard (idempotent), for referrals recorded after it."""
        scope = {k: payload[k] for k in ("full", "revoked", "remaining") if k in payload}
        self.session.execute(_remember_ending(self.session.get_bind().dialect.name), {
            "event_id": event_id, "consent_id": payload["consent_id"], "type": event_type,
            "scope": scope, "occurred_at": occurred_at})

    def endings_of(self, consent_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The endings of ``consent_id`` heard so far, oldest first: (event type, payload)."""
        rows = self.session.execute(_ENDINGS_OF, {"consent_id": consent_id})
        return [(row.type, {"consent_id": consent_id, **row.scope}) for row in rows]

    def with_external_id(self, referrer_agency_id: str, external_id: str,
                         system: str | None) -> str | None:
        """The id of the referral ``referrer_agency_id`` gave this identifier, or None."""
        ids = {"referrer_agency_id": referrer_agency_id, "external_id": external_id}
        if system is None:
            return self.session.execute(_WITH_EXTERNAL_ID_NO_SYSTEM, ids).scalar()
        return self.session.execute(_WITH_EXTERNAL_ID, {**ids, "system": system}).scalar()

    def page(self, *, agency_id: str | None, status: str | None, cursor: str | None,
             limit: int, filters: ReferralFilters | None = None,
             ) -> tuple[list[Referral | UnreadableReferral], str | None]:
        """Newest first: referrals ``agency_id`` sent or was assigned (every one for None),
        narrowed by ``filters`` (an ``external_id`` only among ``agency_id``'s own referrals).

        A row that fails its integrity check is in the page as an ``UnreadableReferral``.
        Returns the page and the cursor of the next one (None on the last page). Raises
        ``InvalidRequest`` for a cursor this listing did not hand out.
        """
        query = select(referrals)
        if agency_id is not None:
            query = query.where(or_(referrals.c.referrer_agency_id == agency_id,
                                    referrals.c.assigned_agency_id == agency_id))
        if status is not None:
            query = query.where(referrals.c.status == status)
        query = _filtered(query, filters or ReferralFilters(), agency_id)
        if cursor is not None:
            at, last_id = read_cursor(cursor)
            query = query.where(or_(referrals.c.created_at < at,
                                    and_(referrals.c.created_at == at, referrals.c.id < last_id)))
        rows = self.session.execute(query.order_by(
            referrals.c.created_at.desc(), referrals.c.id.desc()).limit(limit + 1)).all()
        more, rows = len(rows) > limit, rows[:limit]
        next_cursor = write_cursor(rows[-1].created_at, rows[-1].id) if more else None
        return self._load(rows), next_cursor

    # -- handoff packets ----------------------------------------------------------------------

    def store_handoff(self, referral_id: str, agency_id: str, disclosure: Mapping[str, Any],
                      at: datetime) -> None:
        """Keep what consent disclosed for ``agency_id`` (with the ``data_classes`` it disclosed),
        the participant details sealed."""
        sealed = seal(self.ring, "handoff_packets", referral_id,
                      {"participant": json.dumps(disclosure["participant"])})
        self.session.execute(_DROP_HANDOFF, {"referral_id": referral_id})
        self.session.execute(_ADD_HANDOFF, {
            "id": referral_id, "agency_id": agency_id, "consent": disclosure["consent"],
            "redisclosure_notice": disclosure["redisclosure_notice"],
            "decision_id": disclosure.get("decision_id"), "data_classes": disclosure.get("data_classes"),
            "disclosed_at": at, **sealed})

    def handoff(self, referral_id: str) -> dict[str, Any] | None:
        """The stored packet, participant details decrypted; None when there is none."""
        row = self.session.execute(_HANDOFF, {"referral_id": referral_id}).first()
        if row is None:
            return None
        opened = unseal(self.ring, "handoff_packets", row.id, {"participant": row.participant})
        return {"referral_id": row.id, "agency_id": row.agency_id,
                "participant": json.loads(opened["participant"]), "consent": row.consent,
                "redisclosure_notice": row.redisclosure_notice, "decision_id": row.decision_id,
                "data_classes": row.data_classes, "disclosed_at": row.disclosed_at}

    # -- mapping ------------------------------------------------------------------------------

    @staticmethod
    def _state(referral: Referral) -> dict[str, Any]:
        """The columns a transition may change."""
        return {"status": referral.status, "assigned_agency_id": referral.assigned_agency_id,
                "match": referral.match.as_dict() if referral.match else None,
                "waitlisted": referral.waitlisted, "match_updated_at": referral.match_updated_at,
                "handoff_open": referral.handoff_open, "updated_at": referral.history[-1].at}

    def _append_history(self, referral: Referral, *, start: int) -> None:
        for seq, entry in enumerate(referral.history[start:], start=start):
            row_id = f"{referral.id}:{seq}"
            sealed = seal(self.ring, "referral_history", row_id, {"reason": entry.reason})
            self.session.execute(_ADD_HISTORY, {
                "id": row_id, "referral_id": referral.id, "seq": seq, "status": entry.status,
                "at": entry.at, "by": entry.by, "reason_code": entry.reason_code, **sealed})

    def _load(self, rows: Iterable[Any],
              history: Iterable[Any] | None = None) -> list[Referral | UnreadableReferral]:
        """Referrals from their rows, with their ``history`` rows in order (read here if None)."""
        rows = list(rows)
        histories: dict[str, list[HistoryEntry]] = {row.id: [] for row in rows}
        broken: set[str] = set()
        if rows:
            if history is None:
                history = self.session.execute(_HISTORIES, {"referral_ids": list(histories)}).all()
            for h in history:
                if h.referral_id in broken:
                    continue
                opened = unseal_or_alert(self.ring, "referral_history", h.id, {"reason": h.reason})
                if opened is None:
                    broken.add(h.referral_id)
                    continue
                histories[h.referral_id].append(
                    HistoryEntry(h.status, h.at, h.by, opened["reason"], h.reason_code))
        loaded: list[Referral | UnreadableReferral] = []
        for row in rows:
            opened = None if row.id in broken else unseal_or_alert(
                self.ring, "referrals", row.id, {"reason": row.reason, "needs": row.needs})
            if opened is None:
                loaded.append(UnreadableReferral(
                    id=row.id, status=row.status, urgency=row.urgency,
                    referrer_agency_id=row.referrer_agency_id, assigned_agency_id=row.assigned_agency_id,
                    participant_id=row.participant_id, consent_id=row.consent_id,
                    created_at=row.created_at, updated_at=row.updated_at, match=_match(row.match),
                    waitlisted=row.waitlisted, handoff_open=row.handoff_open))
                continue
            referral = Referral(
                id=row.id, referrer_agency_id=row.referrer_agency_id,
                participant_id=row.participant_id, consent_id=row.consent_id,
                reason=opened["reason"], urgency=row.urgency, needs=stored_needs(json.loads(opened["needs"])),
                status=row.status, history=histories[row.id],
                assigned_agency_id=row.assigned_agency_id, match=_match(row.match),
                waitlisted=row.waitlisted, match_updated_at=row.match_updated_at,
                handoff_open=row.handoff_open, external_id=row.external_id,
                external_id_system=row.external_id_system)
            self._loaded[row.id] = (row.version, len(referral.history), row.handoff_open)
            loaded.append(referral)
        return loaded


class _HistoryRow(NamedTuple):
    """A history entry as ``_HISTORIES`` reads it, taken from ``_GET``'s prefixed columns."""

    id: str
    referral_id: str
    status: str
    at: datetime
    by: str
    reason: str | None
    reason_code: str | None


_HISTORY_FIELDS = tuple(f"h_{name}" for name in _HistoryRow._fields)


def referral_repositories(session: Session, ring: KeyRing) -> dict[str, Any]:
    """What the service's unit of work carries: ``uow.referrals`` and ``uow.creations``."""
    return {"referrals": ReferralRepository(session, ring), "creations": Creations(session)}


def _filtered(query, filters: ReferralFilters, agency_id: str | None):
    """``query`` narrowed by each filter that is set."""
    c = referrals.c
    conditions = []
    if filters.status is not None:
        conditions.append(c.status == filters.status)
    if filters.external_id is not None:
        conditions.append(c.external_id == filters.external_id)
        if agency_id is not None:
            conditions.append(c.referrer_agency_id == agency_id)
    if filters.external_id_system is not None:
        conditions.append(c.external_id_system == filters.external_id_system)
    for column, value in ((c.participant_id, filters.participant_id),
                          (c.referrer_agency_id, filters.referrer_agency_id),
                          (c.assigned_agency_id, filters.assigned_agency_id)):
        if value is not None:
            conditions.append(column == value)
    for column, after, before in ((c.created_at, filters.created_after, filters.created_before),
                                  (c.updated_at, filters.updated_after, filters.updated_before)):
        if after is not None:
            conditions.append(column > after)
        if before is not None:
            conditions.append(column < before)
    return query.where(*conditions) if conditions else query


def _match(stored: Mapping[str, Any] | None) -> MatchInfo | None:
    if not stored:
        return None
    return MatchInfo(stored["id"], stored["mentor_id"], stored["mentor_agency_id"],
                     float(stored["score"]), tuple(stored.get("explanation") or ()),
                     stored.get("status", "proposed"), stored.get("reason_code"))
