"""What callers ask of the consent service, as small imperative messages.

What an agency asks carries the kit's ``Caller`` first (``CallerCommand``): handlers read the
asking agency as ``caller.agency_id``, and a network administrator (``caller.is_admin``) may read
any consent and any accounting of disclosures. The decision point's requests and the timers carry
no caller: their discloser and recipient are data of another service's request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kit.messages import CallerCommand

# How many ledger entries a verification reads at a time.
VERIFY_CHUNK = 5000
# How many due consents the expiry timer loads at a time.
EXPIRY_BATCH = 100


@dataclass(frozen=True)
class GrantConsent(CallerCommand):
    """``request`` is the grant body as sent: the domain reads and checks every element."""

    request: Mapping[str, Any]


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
    names what it reads on a permit (``handoff:<id>``), ledgered with the decision.
    """

    discloser: str
    recipient: Mapping[str, str]
    purpose: str
    data_classes: Sequence[str]
    participant_id: str
    consent_id: str | None = None
    asking: str | None = None
    read: str | None = None


@dataclass(frozen=True)
class Disclose(AuthorizeDisclosure):
    """Decide as ``AuthorizeDisclosure`` does and, when permitted, release the details."""


@dataclass(frozen=True)
class AttestConsent(ConsentCommand):
    """A discloser named in the consent confirms it discloses under it."""


@dataclass(frozen=True)
class RecordAccess:
    """``actor`` read personal details of the participant; ``what`` names them by kind and id."""

    actor: str
    participant_id: str
    what: str


@dataclass(frozen=True)
class ListDisclosures(CallerCommand):
    """The accounting of disclosures about one participant."""

    participant_id: str


@dataclass(frozen=True)
class ReadLedger:
    """A page of entries in seq order after ``after_seq``, at or after ``since``."""

    limit: int
    participant_id: str | None = None
    since: datetime | None = None
    after_seq: int | None = None


@dataclass(frozen=True)
class VerifyLedger:
    chunk_size: int = VERIFY_CHUNK


@dataclass(frozen=True)
class ExpireDueConsents:
    batch: int = EXPIRY_BATCH


@dataclass(frozen=True)
class CheckpointLedger:
    """Sign the ledger's head unless a checkpoint covers it already."""
