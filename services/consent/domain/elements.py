"""The elements a Part 2 written consent is made of (42 CFR 2.31), as immutable values.

Instants are timezone-aware UTC ``datetime``s inside the domain and ISO-8601 strings
with a ``Z`` suffix at its edges (snapshots, event payloads, summaries).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The signature words are shared with the gateway's schema; the domain re-exports them.
from services.kit.vocabulary import SIGNATURE_METHODS as SIGNATURE_METHODS
from services.kit.vocabulary import SIGNERS as SIGNERS

END_OF_TREATMENT = "end-of-treatment"
# Events that can end a consent instead of a date (2.31(a)(7): "date, event, or condition").
EXPIRING_EVENTS = (END_OF_TREATMENT,)

# The revocation right every consent states (2.31(a)(6)); the service supplies this text and
# each consent records the exact words it carried.
REVOCATION_STATEMENT = (
    "You may revoke this consent at any time, in writing or through the agency that collected it, "
    "except to the extent that a program or person permitted to disclose has already acted in "
    "reliance on it. You may revoke it for some recipients only; it then stays in force for the "
    "others. Revoking does not undo disclosures made before the revocation."
)


def parse_instant(value: Any) -> datetime:
    """Read an aware datetime or an ISO-8601 string with an offset, as UTC.

    Raises ``ValueError`` for anything else, including a timestamp without a timezone.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not an ISO-8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ValueError("not a timestamp")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp needs a timezone (e.g. a trailing Z)")
    return value.astimezone(UTC)


def format_instant(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z`` suffix; ``None`` stays ``None``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class AgencyRecipient:
    """A recipient named by agency, with the agency's kind (``hospital``, ``peer_group``...)."""

    id: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind}


@dataclass(frozen=True)
class Recipients:
    """Who may receive: agencies by name and agency kinds by class (2.31(a)(4))."""

    agencies: tuple[AgencyRecipient, ...] = ()
    classes: tuple[str, ...] = ()

    @property
    def agency_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.agencies)

    def kind_of(self, agency_id: str) -> str | None:
        """The kind recorded for a named agency, ``None`` when it is not named."""
        return next((a.kind for a in self.agencies if a.id == agency_id), None)

    def names_kind(self, kind: str) -> bool:
        """True when some named agency is of ``kind`` or ``kind`` is a class here."""
        return kind in self.classes or any(a.kind == kind for a in self.agencies)

    def is_empty(self) -> bool:
        return not self.agencies and not self.classes

    def without(self, agency_ids: Iterable[str], classes: Iterable[str]) -> Recipients:
        gone_ids, gone_classes = set(agency_ids), set(classes)
        return Recipients(
            tuple(a for a in self.agencies if a.id not in gone_ids),
            tuple(c for c in self.classes if c not in gone_classes),
        )

    def only(self, agency_ids: Iterable[str], classes: Iterable[str]) -> Recipients:
        kept_ids, kept_classes = set(agency_ids), set(classes)
        return Recipients(
            tuple(a for a in self.agencies if a.id in kept_ids),
            tuple(c for c in self.classes if c in kept_classes),
        )

    def plus(self, other: Recipients) -> Recipients:
        known = set(self.agency_ids)
        return Recipients(
            self.agencies + tuple(a for a in other.agencies if a.id not in known),
            self.classes + tuple(c for c in other.classes if c not in self.classes),
        )

    def as_dict(self) -> dict[str, list]:
        """Agencies with their kinds: the shape consents are stored and summarised in."""
        return {"agencies": [a.as_dict() for a in self.agencies], "classes": list(self.classes)}

    def as_ids(self) -> dict[str, list[str]]:
        """Agency ids and classes: the shape of the event contract's ``RecipientsSchema``."""
        return {"agencies": list(self.agency_ids), "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipients:
        """Rebuild from ``as_dict`` output (trusted, already validated data)."""
        return cls(
            tuple(AgencyRecipient(a["id"], a["kind"]) for a in data.get("agencies", ())),
            tuple(data.get("classes", ())),
        )


@dataclass(frozen=True)
class Signature:
    """Who signed, when and how (2.31(a)(8)); a representative states their authority."""

    signed_by: str
    signer_name: str
    signed_at: datetime
    method: str
    authority: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "signed_by": self.signed_by,
            "signer_name": self.signer_name,
            "signed_at": format_instant(self.signed_at),
            "method": self.method,
            "authority": self.authority,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            data["signed_by"], data["signer_name"], parse_instant(data["signed_at"]),
            data["method"], data.get("authority"),
        )
