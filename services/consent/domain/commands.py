"""What callers ask of the consent service, as small imperative messages.

What an agency asks carries the kit's ``Caller`` first (``CallerCommand``): handlers read the
asking agency as ``caller.agency_id``; no agency, administrators included, reads consents or
accountings that do not name it. The decision point's requests and the timers carry
no caller: their discloser and recipient are data of another service's request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kit.creations import Creation
from services.kit.messages import CallerCommand

# How many ledger entries a verification reads at a time.
VERIFY_CHUNK = 5000
# How many ledger entries one page of an export carries at most.
EXPORT_PAGE_LIMIT = 1000
# How many due consents the expiry timer loads at a time.
EXPIRY_BATCH = 100


@dataclass(frozen=True)
class GrantConsent(CallerCommand):
    """``request`` is the grant body as sent: the domain reads and checks every element."""

    request: Mapping[str, Any]
    # The request's Idempotency-Key with a digest of the request: one consent per key.
    creation: Creation | None = None


@dataclass(frozen=True)
class ConsentCommand(CallerCommand):
    """The base of what an agency asks about one consent: the caller, then the consent."""

    consent_id: str


@dataclass(frozen=True)
class ReadConsent(ConsentCommand):
    """Read one consent (its holder, disclosers, named recipients and admins may)."""


@dataclass(frozen=True)
class RevokeConsent(ConsentCommand):
    """Revoke in full, or only for ``recipients`` (``{"agencies": [...], "classes": [...]}``)."""

    reason: str
    recipients: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class EndTreatment(ConsentCommand):
    """The holder's treatment ended: consents that last until then end with it."""


@dataclass(frozen=True)
class AuthorizeDisclosure:
    """May ``discloser`` give ``data_classes`` about the participant to ``recipient`` for ``purpose``?

    ``recipient`` is ``{"agency_id", "kind"}`` or ``{"class"}``; without ``consent_id`` every
    consent of the participant is considered. ``asking`` is the agency on whose request the
    question is put (it is told a refusal's reason only if it holds the consent); ``read``
    names what it reads on a permit (``handoff:<id>``), ledgered with the decision. ``acting``
    is who in the asking agency put it (``person:<id>``, ``key:<name>``): the ledger names them.
    """

    discloser: str
    recipient: Mapping[str, str]
    purpose: str
    data_classes: Sequence[str]
    participant_id: str
    consent_id: str | None = None
    asking: str | None = None
    read: str | None = None
    acting: str | None = None


@dataclass(frozen=True)
class Disclose(AuthorizeDisclosure):
    """Decide as ``AuthorizeDisclosure`` does and, when permitted, release the details."""


@dataclass(frozen=True)
class CoveredClasses:
    """Which of ``data_classes`` does the named consent cover for this question? (Not ledgered.)"""

    discloser: str
    recipient: Mapping[str, str]
    purpose: str
    data_classes: Sequence[str]
    participant_id: str
    consent_id: str


@dataclass(frozen=True)
class AttestConsent(ConsentCommand):
    """A discloser named in the consent confirms it discloses under it."""


@dataclass(frozen=True)
class RecordAccess:
    """``actor`` read personal details of the participant; ``what`` names them by kind and id.
    ``acting`` is who in the agency read them (``person:<id>``, ``key:<name>``)."""

    actor: str
    participant_id: str
    what: str
    acting: str | None = None


@dataclass(frozen=True)
class ListDisclosures(CallerCommand):
    """A page of the accounting of disclosures about one participant, after the ``(at,
    ledger_seq)`` position ``after``."""

    participant_id: str
    after: tuple[datetime, int] | None = None
    limit: int = 100
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ReadLedger(CallerCommand):
    """A page of entries in seq order after ``after_seq``, at or after ``since`` and before
    ``until``, optionally only one ``actor`` (``key:<name>``), acting ``agency`` or ``action``.

    The operator reads every row; any other caller only the rows about its own agency.
    """

    limit: int = 100
    participant_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    agency: str | None = None
    action: str | None = None
    after_seq: int | None = None


@dataclass(frozen=True)
class ExportLedger:
    """Every field of up to ``limit`` entries after ``after_seq`` (from the first when None), none
    past ``up_to``: an export pins the head it started at and pages up to it."""

    limit: int = EXPORT_PAGE_LIMIT
    after_seq: int | None = None
    up_to: int | None = None


@dataclass(frozen=True)
class RecordChange(CallerCommand):
    """Ledger an administrative change made outside this service (an agency, a key):
    ``action`` on ``subject``, with ``details`` free of personal data."""

    action: str
    subject: str
    details: Mapping[str, Any]


@dataclass(frozen=True)
class VerifyLedger:
    chunk_size: int = VERIFY_CHUNK


@dataclass(frozen=True)
class ExpireDueConsents:
    batch: int = EXPIRY_BATCH


@dataclass(frozen=True)
class CheckpointLedger:
    """Sign the ledger's head unless a checkpoint covers it already."""
