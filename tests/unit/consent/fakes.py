"""In-memory repositories of the consent service and a unit of work that keeps their writes
only when it commits, as the database does.

Each repository answers what ``services/consent/adapters`` answers; what a handler wrote in a
unit of work it left without committing is gone afterwards, so a test can tell a write that
was committed from one that was thrown away.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.consent.adapters.consents import StoredConsent
from services.consent.domain import (
    ACTIVE,
    Checkpoint,
    Consent,
    LedgerEntry,
    chain_hash,
    format_instant,
    next_entry,
    sign_checkpoint,
)
from services.consent.domain.terms import TERMS_ACTIONS
from services.consent.ledger_keys import LedgerKeyPair
from services.kit.errors import Conflict
from tests.unit.fake_unit_of_work import FakeUnitOfWork


class Transactional:
    """Holds ``state``; what was written since the last commit is dropped on rollback."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self._committed = copy.deepcopy(state)

    def commit(self) -> None:
        self._committed = copy.deepcopy(self.state)

    def rollback(self) -> None:
        self.state = copy.deepcopy(self._committed)


class ConsentUnitOfWork(FakeUnitOfWork):
    """``FakeUnitOfWork`` whose repositories commit and roll back with it, and exist only while
    it is entered."""

    def __init__(self, **repositories: Transactional) -> None:
        super().__init__(source="consent", **repositories)

    def commit(self) -> None:
        super().commit()
        for repository in self.repositories.values():
            repository.commit()

    def rollback(self) -> None:
        super().rollback()
        for repository in self.repositories.values():
            repository.rollback()

    def __exit__(self, *exc_info: object) -> None:
        leaving = self._depth == 1
        super().__exit__(*exc_info)
        if leaving:
            # As the kit's unit of work: nothing outlives the transaction.
            for name, repository in self.repositories.items():
                repository.rollback()
                delattr(self, name)


class FakeConsents(Transactional):
    """Consents by id, kept as their snapshots: a loaded consent is a fresh copy.

    ``ledger`` is the ledger of the same unit of work, where the consents' terms are bound.
    """

    def __init__(self, ledger: FakeLedger | None = None) -> None:
        super().__init__({})
        self.ledger = ledger
        self.unsealed = 0  # consents loaded with their personal details

    def add(self, consent: Consent, holder: str, now: datetime) -> StoredConsent:
        self.state[consent.id] = {"holder": holder, "snapshot": consent.snapshot(),
                                  "personal": consent.personal(), "versions": consent.versions}
        return StoredConsent(consent, holder, consent.version)

    def save(self, stored: StoredConsent, now: datetime) -> None:
        consent = stored.consent
        if consent.version == stored.loaded_version:
            return
        row = self.state[consent.id]
        if row["snapshot"]["version"] != stored.loaded_version:
            raise Conflict(f"consent {consent.id} changed meanwhile; try again")
        row.update(snapshot=consent.snapshot(), versions=consent.versions)
        stored.loaded_version = consent.version

    def get(self, consent_id: str, *, for_update: bool = False, personal: bool = True,
            with_terms: bool = False) -> StoredConsent | None:
        row = self.state.get(consent_id)
        return None if row is None else self._load(row, personal)

    def for_participant(self, participant_id: str, *, for_update: bool = False,
                        personal: bool = True) -> list[StoredConsent]:
        rows = [r for r in self.state.values() if r["snapshot"]["participant_id"] == participant_id]
        rows.sort(key=lambda r: r["snapshot"]["id"])
        rows.sort(key=lambda r: r["snapshot"]["granted_at"], reverse=True)
        return [self._load(row, personal) for row in rows]

    def recorded_terms(self, stored: StoredConsent, hmac_key: bytes) -> dict[str, Any] | None:
        consent = stored.consent
        rows = [e for e in (self.ledger.rows if self.ledger else ())
                if e.participant_id == consent.participant_id and e.subject == consent.id
                and e.action in TERMS_ACTIONS]
        if not rows or chain_hash(hmac_key, rows[-1].prev_hash, rows[-1].content()) != rows[-1].hash:
            return None
        return rows[-1].details

    def tamper(self, consent_id: str, **terms: Any) -> None:
        """Change stored terms behind the service's back (as a database writer could)."""
        self.state[consent_id]["snapshot"].update(terms)
        self.commit()

    def holders_for_participant(self, participant_id: str) -> set[str]:
        return {stored.holder for stored in self.for_participant(participant_id)}

    def due_for_expiry(self, now: datetime, limit: int) -> list[str]:
        due = [stored.consent for stored in map(self._load, self.state.values())
               if stored.consent.status == ACTIVE and stored.consent.valid_until is not None
               and stored.consent.valid_until <= now]
        return [consent.id for consent in sorted(due, key=lambda c: c.valid_until)][:limit]

    def _load(self, row: dict[str, Any], personal: bool = True) -> StoredConsent:
        if not personal:  # as the repository reads a consent for a decision: terms only
            consent = Consent.from_snapshot({**row["snapshot"], "revocation_reason": None},
                                            {"participant": {}, "signer_name": None})
            return StoredConsent(consent, row["holder"], consent.version)
        self.unsealed += 1
        consent = Consent.from_snapshot(row["snapshot"], copy.deepcopy(row["personal"]), row["versions"])
        return StoredConsent(consent, row["holder"], consent.version)


class FakeLedger(Transactional):
    """The hash-chained ledger as a list, with its signed checkpoints."""

    def __init__(self) -> None:
        super().__init__({"entries": [], "checkpoints": []})

    @property
    def rows(self) -> list[LedgerEntry]:
        return self.state["entries"]

    def append(self, keys: LedgerKeyPair, *, at: datetime, actor: str, action: str, subject: str,
               participant_id: str | None = None, details: dict[str, Any] | None = None) -> LedgerEntry:
        head = self.rows[-1] if self.rows else None
        entry = next_entry(head, keys.hmac_key, at=at, actor=actor, action=action, subject=subject,
                           participant_id=participant_id, details=details)
        self.rows.append(entry)
        if entry.seq % keys.checkpoint_every == 0:
            self.state["checkpoints"].append(sign_checkpoint(entry, at, keys.signing_key))
        return entry

    def entries(self, *, participant_id: str | None = None, since: str | None = None,
                until: str | None = None, actor: str | None = None, agency: str | None = None,
                action: str | None = None, involving: str | None = None,
                after_seq: int | None = None, limit: int = 100) -> list[LedgerEntry]:
        found = [e for e in self.rows if (after_seq is None or e.seq > after_seq)
                 and (participant_id is None or e.participant_id == participant_id)
                 and (since is None or e.at >= since) and (until is None or e.at < until)
                 and (actor is None or e.details.get("by") == actor)
                 and (agency is None or e.actor == agency)
                 and (action is None or e.action == action)
                 and (involving is None or involving in (e.actor, e.details.get("recipient")))]
        return found[:limit]

    def after(self, seq: int | None, limit: int | None = None) -> list[LedgerEntry]:
        found = [e for e in sorted(self.rows, key=lambda e: e.seq) if seq is None or e.seq > seq]
        return found if limit is None else found[:limit]

    def head_seq(self) -> int:
        return max((e.seq for e in self.rows), default=0)

    def checkpoints(self) -> list[Checkpoint]:
        return sorted(self.state["checkpoints"], key=lambda c: c.count)

    def checkpoint(self, keys: LedgerKeyPair, at: datetime) -> Checkpoint | None:
        head = self.rows[-1] if self.rows else None
        signed = self.checkpoints()
        if head is None or (signed and signed[-1].count >= head.seq):
            return None
        checkpoint = sign_checkpoint(head, at, keys.signing_key)
        self.state["checkpoints"].append(checkpoint)
        return checkpoint


class FakeDisclosures(Transactional):
    """The accounting of disclosures as a list of rows."""

    def __init__(self) -> None:
        super().__init__([])

    def record(self, *, at: datetime, participant_id: str, recipient: str, recipient_kind: str | None,
               discloser: str, purpose: str, data_classes: Sequence[str], consent_id: str,
               consent_version: int, ledger_seq: int) -> str:
        assert all(row["ledger_seq"] != ledger_seq for row in self.state), "ledger_seq is unique"
        self.state.append({
            "at": format_instant(at), "participant_id": participant_id, "recipient": recipient,
            "recipient_kind": recipient_kind, "discloser": discloser, "purpose": purpose,
            "data_classes": list(data_classes), "consent_id": consent_id,
            "consent_version": consent_version, "ledger_seq": ledger_seq,
        })
        return f"disclosure-{len(self.state)}"

    def for_participant(self, participant_id: str, *, after=None, limit: int | None = None,
                        since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
        rows = [r for r in self.state if r["participant_id"] == participant_id
                and (since is None or datetime.fromisoformat(r["at"]) >= since)
                and (until is None or datetime.fromisoformat(r["at"]) < until)]
        found = [{k: v for k, v in row.items() if k != "participant_id"}
                 for row in sorted(rows, key=lambda r: (r["at"], r["ledger_seq"]))]
        if after is not None:
            found = [r for r in found if (datetime.fromisoformat(r["at"]), r["ledger_seq"]) > after]
        return found[:limit]


class FakeAdmissions(Transactional):
    """When agencies were admitted, by agency id."""

    def __init__(self) -> None:
        super().__init__({})

    def admit(self, agency_id: str, kind: str, at: datetime) -> None:
        self.state.setdefault(agency_id, (kind, at))

    def admitted_after(self, at: datetime, kind: str) -> list[str]:
        return [agency for agency, (k, when) in self.state.items() if k == kind and when > at]

    def admitted_at(self, agency_id: str) -> datetime | None:
        kind_and_time = self.state.get(agency_id)
        return kind_and_time[1] if kind_and_time else None
