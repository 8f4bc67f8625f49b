"""The accounting of disclosures: who received which data classes about whom, when, under
which consent. Rows name agencies, purposes and data classes, never the data itself."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from services.consent.adapters.orm import disclosures
from services.consent.domain.elements import format_instant

_RECORD = insert(disclosures)  # built once: every disclosure runs it


class DisclosureRepository:
    """The accounting of disclosures in one unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, *, at: datetime, participant_id: str, recipient: str, recipient_kind: str | None,
               discloser: str, purpose: str, data_classes: Sequence[str], consent_id: str,
               consent_version: int, ledger_seq: int) -> str:
        """Add one disclosure in the session's transaction; returns its id.

        Raises ``IntegrityError`` (at flush or commit) when ``ledger_seq`` is recorded already.
        """
        disclosure_id = str(uuid.uuid4())
        self.session.execute(_RECORD, {
            "id": disclosure_id, "at": at, "participant_id": participant_id, "recipient": recipient,
            "recipient_kind": recipient_kind, "discloser": discloser, "purpose": purpose,
            "data_classes": list(data_classes), "consent_id": consent_id,
            "consent_version": consent_version, "ledger_seq": ledger_seq,
        })
        return disclosure_id

    def for_participant(self, participant_id: str, *, after: tuple[datetime, int] | None = None,
                        limit: int | None = None, since: datetime | None = None,
                        until: datetime | None = None) -> list[dict[str, Any]]:
        """A participant's disclosures, oldest first, JSON-ready; strictly after the
        ``(at, ledger_seq)`` position ``after``, at or after ``since``, before ``until``, at
        most ``limit``."""
        c = disclosures.c
        query = select(disclosures).where(c.participant_id == participant_id)
        if since is not None:
            query = query.where(c.at >= since)
        if until is not None:
            query = query.where(c.at < until)
        if after is not None:
            at, seq = after
            query = query.where(or_(c.at > at, and_(c.at == at, c.ledger_seq > seq)))
        query = query.order_by(c.at, c.ledger_seq)
        if limit is not None:
            query = query.limit(limit)
        rows = self.session.execute(query).mappings()
        return [{
            "at": format_instant(row["at"]), "recipient": row["recipient"],
            "recipient_kind": row["recipient_kind"], "discloser": row["discloser"],
            "purpose": row["purpose"], "data_classes": list(row["data_classes"]),
            "consent_id": row["consent_id"], "consent_version": row["consent_version"],
            "ledger_seq": row["ledger_seq"],
        } for row in rows]
