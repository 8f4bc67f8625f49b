"""Storing and loading consents: snapshots in the clear, personal details and reasons sealed.

A stored consent is its latest snapshot (``consents``), every snapshot so far
(``consent_versions``) and its personal details (``consent_personal``). The revocation reason
is free text a person wrote, so it is taken out of each snapshot and kept sealed beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from services.consent.adapters import ledger_rows
from services.consent.adapters.orm import (
    PERSONAL_FIELDS,
    consent_personal,
    consent_versions,
    consents,
    ledger,
)
from services.consent.domain import ACTIVE, Consent, LedgerEntry, chain_hash
from services.consent.domain.terms import TERMS_ACTIONS
from services.kit.crypto import KeyRing
from services.kit.encrypted import seal, unseal
from services.kit.errors import Conflict

REASON = "revocation_reason"
# Built once: the decision point runs them for every question (``get``, ``recorded_terms``, and
# for a disclosure ``_load``).
_GET = select(consents).where(consents.c.id == bindparam("consent_id"))
_GET_LOCKED = _GET.with_for_update()
_PERSONAL = select(consent_personal).where(consent_personal.c.consent_id == bindparam("consent_id"))
# Every terms entry of one consent, by ``ix_ledger_terms``: a few rows. Neither an order nor a
# limit, which would let the planner walk the ledger backwards from its newest row through all
# the decisions ledgered since the grant.
_RECORDED_TERMS = select(ledger).where(ledger.c.subject == bindparam("consent_id"),
                                       ledger.c.action.in_(TERMS_ACTIONS))
# PostgreSQL: the consent under its row lock with those entries, in one round trip
# (``get(..., with_terms=True)``), each entry as a JSON array in ``LedgerEntry.from_row`` order.
_TERMS_OF_ROW = (select(func.json_agg(func.json_build_array(
                     ledger.c.seq, ledger.c.at, ledger.c.actor, ledger.c.action, ledger.c.subject,
                     ledger.c.participant_id, ledger.c.details, ledger.c.prev_hash, ledger.c.hash)))
                 .where(ledger.c.subject == consents.c.id, ledger.c.action.in_(TERMS_ACTIONS))
                 .scalar_subquery())
_GET_LOCKED_WITH_TERMS = (select(consents, _TERMS_OF_ROW.label("terms_entries"))
                          .where(consents.c.id == bindparam("consent_id"))
                          .with_for_update(of=consents))


@dataclass
class StoredConsent:
    """A loaded consent, the agency that holds it, and the version it was loaded at."""

    consent: Consent
    holder: str
    loaded_version: int
    # The consent's terms entries in the ledger, when read with it (``get(..., with_terms=True)``).
    terms_entries: list[LedgerEntry] | None = field(default=None, repr=False)


class ConsentRepository:
    """Consents in one unit of work's session, sealing with the service's key ring."""

    def __init__(self, session: Session, ring: KeyRing) -> None:
        self.session = session
        self.ring = ring

    # -- writing ----------------------------------------------------------------------------

    def add(self, consent: Consent, holder: str, now: datetime) -> StoredConsent:
        """Insert a newly granted consent with its first version and sealed personal details."""
        snapshot = consent.snapshot()
        self.session.execute(insert(consents).values(
            id=consent.id, participant_id=consent.participant_id, holder_agency_id=holder,
            status=consent.status, version=consent.version, valid_until=consent.valid_until,
            expires_on=consent.expires_on, snapshot=_without_reason(snapshot),
            revocation_reason=self._seal_reason("consents", consent.id, snapshot[REASON]),
            granted_at=consent.granted_at, updated_at=now,
        ))
        personal = consent.personal()
        values = {name: personal["participant"].get(name) for name in PERSONAL_FIELDS}
        values["signer_name"] = personal["signer_name"]
        self.session.execute(insert(consent_personal).values(
            consent_id=consent.id, **seal(self.ring, "consent_personal", consent.id, values)))
        self._add_versions(consent, after=0, now=now)
        return StoredConsent(consent, holder, consent.version)

    def save(self, stored: StoredConsent, now: datetime) -> None:
        """Write the versions added since loading.

        Raises ``Conflict`` when another writer changed the consent meanwhile (its version moved).
        """
        consent = stored.consent
        if consent.version == stored.loaded_version:
            return
        snapshot = consent.snapshot()
        done = self.session.execute(
            update(consents)
            .where(consents.c.id == consent.id, consents.c.version == stored.loaded_version)
            .values(status=consent.status, version=consent.version, valid_until=consent.valid_until,
                    snapshot=_without_reason(snapshot), updated_at=now,
                    revocation_reason=self._seal_reason("consents", consent.id, snapshot[REASON]))
        )
        if done.rowcount != 1:
            raise Conflict(f"consent {consent.id} changed meanwhile; try again")
        self._add_versions(consent, after=stored.loaded_version, now=now)
        stored.loaded_version = consent.version

    def _add_versions(self, consent: Consent, *, after: int, now: datetime) -> None:
        for snap in consent.versions:
            if snap["version"] <= after:
                continue
            row_id = f"{consent.id}:{snap['version']}"
            self.session.execute(insert(consent_versions).values(
                consent_id=consent.id, version=snap["version"], snapshot=_without_reason(snap),
                revocation_reason=self._seal_reason("consent_versions", row_id, snap[REASON]),
                recorded_at=now,
            ))

    def _seal_reason(self, table: str, row_id: str, reason: str | None) -> str | None:
        return seal(self.ring, table, row_id, {REASON: reason})[REASON]

    # -- reading ----------------------------------------------------------------------------

    def get(self, consent_id: str, *, for_update: bool = False, personal: bool = True,
            with_terms: bool = False) -> StoredConsent | None:
        """The consent, or None. ``for_update`` locks its row until the transaction ends
        (PostgreSQL; SQLite's single writer needs no lock). Without ``personal`` the consent
        is read in that one statement and carries its terms only (``terms_only``). With
        ``for_update`` and ``with_terms`` on PostgreSQL, the statement also brings the
        consent's terms entries from the ledger, for ``recorded_terms``."""
        together = for_update and with_terms and self.session.get_bind().dialect.name == "postgresql"
        statement = _GET_LOCKED_WITH_TERMS if together else _GET_LOCKED if for_update else _GET
        row = self.session.execute(statement, {"consent_id": consent_id}).mappings().first()
        if row is None:
            return None
        stored = self._load(row) if personal else _terms_only(row)
        if together:
            stored.terms_entries = [LedgerEntry.from_row(found) for found in row["terms_entries"] or ()]
        return stored

    def for_participant(self, participant_id: str, *, for_update: bool = False,
                        personal: bool = True) -> list[StoredConsent]:
        """Every consent of a participant, newest grant first; ``for_update`` locks them all
        (in that order, as every locker takes them) until the transaction ends. Without
        ``personal``, their terms only, read in that one statement (``terms_only``)."""
        query = (select(consents).where(consents.c.participant_id == participant_id)
                 .order_by(consents.c.granted_at.desc(), consents.c.id))
        if for_update:
            query = query.with_for_update()
        rows = self.session.execute(query).mappings().all()
        return [self._load(row) if personal else _terms_only(row) for row in rows]

    def recorded_terms(self, stored: StoredConsent, hmac_key: bytes) -> dict[str, Any] | None:
        """The details of the latest ledger entry recording a version of this consent's terms,
        or None when there is none or that entry's own hash does not check out.

        Only entries of the consent's participant count, and the latest is checked against the
        chain key, so neither an edited consent row nor an edited ledger row can vouch for itself.
        Entries read with the consent are used when the latest of them records the version
        read: otherwise the row lock waited for a change whose entry that statement's snapshot
        could not see, and they are read again (a statement started now sees it).
        """
        consent = stored.consent
        latest = _latest_of(stored.terms_entries or (), consent)
        if latest is None or _version_of(latest) != consent.version:
            found = self.session.execute(_RECORDED_TERMS, {"consent_id": consent.id})
            latest = _latest_of(map(ledger_rows.to_entry, found), consent)
        if latest is None or chain_hash(hmac_key, latest.prev_hash, latest.content()) != latest.hash:
            return None
        return latest.details

    def holders_for_participant(self, participant_id: str) -> set[str]:
        """Agencies holding a consent of this participant (empty: no such participant)."""
        rows = self.session.execute(
            select(consents.c.holder_agency_id).where(consents.c.participant_id == participant_id)
        ).scalars()
        return set(rows)

    def due_for_expiry(self, now: datetime, limit: int) -> list[str]:
        """Ids of active consents whose ``valid_until`` has passed, oldest first."""
        return list(self.session.execute(
            select(consents.c.id)
            .where(consents.c.status == ACTIVE, consents.c.valid_until <= now)
            .order_by(consents.c.valid_until).limit(limit)
        ).scalars())

    def version(self, consent_id: str, version: int) -> dict[str, Any] | None:
        """An earlier (or the current) snapshot, reason included, or None."""
        row = self.session.execute(select(consent_versions).where(
            consent_versions.c.consent_id == consent_id, consent_versions.c.version == version,
        )).mappings().first()
        if row is None:
            return None
        reason = unseal(self.ring, "consent_versions", f"{consent_id}:{version}",
                        {REASON: row[REASON]})[REASON]
        return {**row["snapshot"], REASON: reason}

    def _load(self, row) -> StoredConsent:
        consent_id = row["id"]
        sealed = self.session.execute(_PERSONAL, {"consent_id": consent_id}).mappings().one()
        opened = unseal(self.ring, "consent_personal", consent_id,
                        {name: sealed[name] for name in (*PERSONAL_FIELDS, "signer_name")})
        personal = {
            "participant": {k: v for k, v in opened.items() if k in PERSONAL_FIELDS and v is not None},
            "signer_name": opened["signer_name"],
        }
        reason = unseal(self.ring, "consents", consent_id, {REASON: row[REASON]})[REASON]
        consent = Consent.from_snapshot({**row["snapshot"], REASON: reason}, personal)
        return StoredConsent(consent, row["holder_agency_id"], row["version"])


def _latest_of(entries: Iterable[LedgerEntry], consent: Consent) -> LedgerEntry | None:
    """The latest of a consent's terms entries that are its participant's, or None."""
    return max((entry for entry in entries if entry.participant_id == consent.participant_id),
               key=lambda entry: entry.seq, default=None)


def _version_of(entry: LedgerEntry) -> Any:
    """The consent version a terms entry records (None for details not shaped as recorded)."""
    return entry.details.get("version") if isinstance(entry.details, dict) else None


def _terms_only(row) -> StoredConsent:
    """The consent of a ``consents`` row with its terms and state but no personal details and
    no revocation reason (both sealed, neither read nor opened): what a decision needs."""
    consent = Consent.from_snapshot({**row["snapshot"], REASON: None}, NO_PERSONAL)
    return StoredConsent(consent, row["holder_agency_id"], row["version"])


NO_PERSONAL = {"participant": {}, "signer_name": None}


def _without_reason(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {**snapshot, REASON: None}
