"""The consent and referrals services' handlers wired together in one process, on SQLite files.

No broker and no nameko: each service gets its own migrated database (copied from a template
migrated once per run), a unit of work as its ``Database`` dependency would give it, and a clock
the test moves. Referrals reaches consent through ``InProcessConsent``, which calls the consent
handlers as the RPC entrypoints do and notes every answer that let participant data out.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.consent import handlers as consent_handlers
from services.consent.adapters.orm import metadata as consent_metadata
from services.consent.adapters.repositories import consent_repositories
from services.consent.domain import commands as c
from services.consent.ledger_keys import load_ledger_keys
from services.kit.contract import parse_event
from services.kit.crypto import KeyRing, generate_key
from services.kit.db import WriterGate, make_engine
from services.kit.dependencies import WorkerUnitOfWork
from services.kit.migrations import upgrade
from services.kit.unit_of_work import outbox_table
from services.referrals.adapters.orm import metadata as referrals_metadata
from services.referrals.adapters.repository import referral_repositories

_TEMPLATES: dict[str, Path] = {}
# Memory-backed when the machine has it: thousands of small commits per run, and what the property
# checks is what the handlers decide, not how the disk syncs (the services' own tests use files).
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def template(service: str) -> Path:
    """A database file at ``service``'s head revision, migrated once per test run."""
    if service not in _TEMPLATES:
        path = Path(tempfile.mkdtemp(prefix=f"promise-{service}-", dir=_SCRATCH)) / f"{service}.db"
        upgrade(service, f"sqlite:///{path}")
        _TEMPLATES[service] = path
    return _TEMPLATES[service]


class ServiceDatabase:
    """One service's database file and the units of work its workers would get."""

    def __init__(self, service: str, directory: Path, metadata, repositories) -> None:
        path = directory / f"{service}.db"
        shutil.copyfile(template(service), path)
        self.engine = make_engine(f"sqlite:///{path}", pool_size=1)
        self.factory = sessionmaker(self.engine, expire_on_commit=False, info={"metadata": metadata})
        ring = KeyRing.from_config(f"k1:{generate_key()}")
        self._repositories = lambda session: repositories(session, ring)
        self._gate = WriterGate(serialise=True)
        self.service = service

    def uow(self, consumer: str = "") -> WorkerUnitOfWork:
        return WorkerUnitOfWork(self.factory, source=self.service, gate=self._gate, consumer=consumer,
                                repositories=self._repositories)

    def outbox(self, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """Staged events after outbox row ``after``: ``(row id, message)``, in order."""
        with self.factory() as session:
            table = outbox_table(session)
            rows = session.execute(select(table.c.id, table.c.message)
                                   .where(table.c.id > after).order_by(table.c.id))
            return [(row.id, json.loads(row.message)) for row in rows]

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class Release:
    """An answer of consent's ``disclose``: what left, to whom, when, under which decision."""

    at: datetime
    question: dict[str, Any]
    answer: dict[str, Any]


class InProcessConsent:
    """The referrals service's consent client, calling the consent handlers directly.

    ``on_release(question, answer)`` runs for every permitted ``disclose`` before the answer is
    handed back, so the test checks the release against its model at that very moment.
    """

    def __init__(self, rig: PromiseRig, on_release: Callable[[Release], None]) -> None:
        self._rig = rig
        self._on_release = on_release

    def covered_classes(self, **request: Any) -> dict[str, Any]:
        return consent_handlers.covered_classes(c.CoveredClasses(**request), self._rig.consent.uow(),
                                                self._rig.now)

    def authorize(self, **request: Any) -> dict[str, Any]:
        return consent_handlers.authorize(c.AuthorizeDisclosure(**request), self._rig.consent.uow(),
                                          self._rig.keys, self._rig.now)

    def disclose(self, **request: Any) -> dict[str, Any]:
        answer = consent_handlers.disclose(c.Disclose(**request), self._rig.consent.uow(),
                                           self._rig.keys, self._rig.now)
        self._on_release(Release(self._rig.now, dict(request), answer))
        return answer

    def record_access(self, **request: Any) -> dict[str, Any]:
        return consent_handlers.record_access(c.RecordAccess(**request), self._rig.consent.uow(),
                                              self._rig.keys, self._rig.now)


class PromiseRig:
    """Both services' databases in a fresh directory, the ledger keys and the shared clock."""

    def __init__(self, now: datetime) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="promise-", dir=_SCRATCH))
        self.consent = ServiceDatabase("consent", self.directory, consent_metadata, consent_repositories)
        self.referrals = ServiceDatabase("referrals", self.directory, referrals_metadata,
                                         referral_repositories)
        self.keys = load_ledger_keys({
            "LEDGER_HMAC_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LEDGER_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LEDGER_CHECKPOINT_EVERY": 25})
        self.now = now
        self._consent_events_seen = 0

    def admit(self, agency_id: str, kind: str, at: datetime) -> None:
        """Record that ``agency_id`` joined the network at ``at`` (as the gateway tells consent)."""
        uow = self.consent.uow()
        with uow:
            uow.admissions.admit(agency_id, kind, at)
            uow.commit()

    def undelivered_consent_events(self) -> list:
        """Consent's ``consent.revoked``/``consent.expired`` events not handed to referrals yet."""
        staged = self.consent.outbox(self._consent_events_seen)
        if staged:
            self._consent_events_seen = staged[-1][0]
        return [parse_event(message) for _, message in staged
                if message["type"] in ("consent.revoked", "consent.expired")]

    def ledger_rows(self, action: str) -> list:
        uow = self.consent.uow()
        with uow:
            return uow.ledger.entries(action=action, limit=1_000_000)

    def accounting(self, participant_ids) -> list[dict[str, Any]]:
        uow = self.consent.uow()
        with uow:
            return [row for p in participant_ids for row in uow.disclosures.for_participant(p)]

    def close(self) -> None:
        self.consent.close()
        self.referrals.close()
        shutil.rmtree(self.directory, ignore_errors=True)
