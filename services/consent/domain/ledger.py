"""The audit ledger's hash chain: entries, the next entry, and signed checkpoints.

Each entry's hash is HMAC-SHA256(ledger key, previous hash + canonical JSON of the entry's
content, its ``seq`` included), so changing, removing, adding or moving a row breaks the
chain from that row on. The HMAC key lets the service extend the chain; a holder of that
key could also rebuild it, so checkpoints (row count and head hash) are signed with a
separate Ed25519 key whose public half is enough to check them.

Pure: no clock, no storage. Keys come from the caller.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _encode_string
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS_HASH = "0" * 64
CHECKPOINT_CONTEXT = b"recovery-referral-network/ledger-checkpoint/v1\n"
# Keys that would put personal details into an append-only table that can never be erased.
PERSONAL_KEYS = frozenset({
    "given_name", "family_name", "name", "signer_name", "birth_date", "phone", "email",
    "address", "participant", "notes",
})

_STRICT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False)
try:  # The C encoder, called directly, makes the canonical form ~2x cheaper to build.
    from json.encoder import c_make_encoder, encode_basestring

    _C_ENCODE = c_make_encoder(None, None, encode_basestring, None, ":", ",", True, False, False)

    def canonical(value: Any) -> str:
        """Canonical JSON: sorted keys, no spaces, UTF-8 text, no NaN."""
        return "".join(_C_ENCODE(value, 0))
except (ImportError, TypeError):  # pragma: no cover - interpreters without the C encoder
    canonical = _STRICT.encode


# -- the canonical form of a stored row ----------------------------------------------------
#
# A row is stored with its details as the canonical JSON that was hashed. The verifier first
# hashes the row with that text spliced in unparsed (``spliced_row``): if the hash matches, the
# text is the canonical form the key holder hashed (a match on any other text would be a
# forged HMAC), so the row is genuine. Only a row whose spliced form does not match is hashed
# again from its parsed details, so details stored in another form that means the same still
# verify, exactly as when every row was parsed.


def details_of(text: str) -> Any:
    """The details a stored row's text holds; ``{"unreadable": text}`` for text that is not
    JSON (tampered text: the hash check then names the row)."""
    try:
        return json.loads(text)
    except ValueError:
        return {"unreadable": text}


def spliced_row(seq: int, at: str, actor: str, action: str, subject: str,
                participant_id: str | None, details_text: str) -> str:
    """The row's content in canonical form with ``details_text`` taken to be canonical: equal
    to ``canonical`` of the entry read back from the row (whose seq is a whole number) exactly
    when it is. Raises ``TypeError`` for ``at``, ``actor``, ``action``, ``subject`` or
    ``participant_id`` that is not text."""
    return (f"[{seq},{_encode_string(at)},{_encode_string(actor)},{_encode_string(action)},"
            f"{_encode_string(subject)},"
            f"{'null' if participant_id is None else _encode_string(participant_id)},"
            f"{details_text}]")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger row. ``at`` is the fixed-width UTC text from ``ledger_time``."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    participant_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def content(self) -> tuple:
        return (self.seq, self.at, self.actor, self.action, self.subject, self.participant_id,
                self.details)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "subject": self.subject, "participant_id": self.participant_id,
                "details": self.details, "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_row(cls, row: tuple) -> LedgerEntry:
        """The entry stored as ``(seq, at, actor, action, subject, participant_id, details
        text, prev_hash, hash)``."""
        seq, at, actor, action, subject, participant_id, text, prev_hash, hash_ = row
        return cls(seq, at, actor, action, subject, participant_id, details_of(text), prev_hash, hash_)


def ledger_time(at: datetime) -> str:
    """``2026-11-01T10:00:00.000000Z``. Stored as text, so the hashed bytes survive databases
    that drop time zones or precision. Raises ``ValueError`` for a naive datetime."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("ledger times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(hmac_key: bytes, prev_hash: str, content: tuple) -> str:
    """The hash of an entry with this content following ``prev_hash``."""
    message = (prev_hash + canonical(content)).encode()
    return hmac.new(hmac_key, message, "sha256").hexdigest()


class ChainTip(NamedTuple):
    """The last entry's seq and hash: all that the entry after it chains to."""

    seq: int
    hash: str


def next_entry(
    head: LedgerEntry | ChainTip | None,
    hmac_key: bytes,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    participant_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> LedgerEntry:
    """The entry that follows ``head`` (``None`` for the first entry, seq 1).

    ``details`` must be JSON data without personal details. Raises ``ValueError`` for a
    naive ``at``, details that are not plain JSON (they are stored exactly as hashed), or
    a key from ``PERSONAL_KEYS`` anywhere inside them.
    """
    clean = _plain_details(details or {})
    seq = 1 if head is None else head.seq + 1
    prev = GENESIS_HASH if head is None else head.hash
    content = (seq, ledger_time(at), actor, action, subject, participant_id, clean)
    return LedgerEntry(*content, prev, chain_hash(hmac_key, prev, content))


def _plain_details(details: Mapping[str, Any]) -> dict[str, Any]:
    try:
        clean = json.loads(_STRICT.encode(dict(details)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ledger details must be plain JSON: {exc}") from None
    if clean != details:
        raise ValueError("ledger details change when stored as JSON (tuples, non-text keys?)")
    _refuse_personal(clean)
    return clean


def _refuse_personal(value: Any) -> None:
    if isinstance(value, dict):
        found = PERSONAL_KEYS.intersection(value)
        if found:
            raise ValueError(f"personal details do not belong in the ledger: {sorted(found)}")
        for inner in value.values():
            _refuse_personal(inner)
    elif isinstance(value, list):
        for inner in value:
            _refuse_personal(inner)


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the ledger had ``count`` rows ending in ``head_hash``."""

    count: int
    head_hash: str
    at: str
    signature: str  # hex Ed25519 signature

    def signed_bytes(self) -> bytes:
        return CHECKPOINT_CONTEXT + canonical([self.count, self.head_hash, self.at]).encode()

    def is_authentic(self, public_key: Ed25519PublicKey) -> bool:
        """True when the signature is the ledger signing key's, over these fields."""
        try:
            public_key.verify(bytes.fromhex(self.signature), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "head_hash": self.head_hash, "at": self.at,
                "signature": self.signature}


def sign_checkpoint(head: LedgerEntry | None, at: datetime,
                    private_key: Ed25519PrivateKey) -> Checkpoint:
    """A checkpoint of the ledger whose last entry is ``head`` (``None``: empty ledger)."""
    count = 0 if head is None else head.seq
    unsigned = Checkpoint(count, GENESIS_HASH if head is None else head.hash, ledger_time(at), "")
    signature = private_key.sign(unsigned.signed_bytes()).hex()
    return Checkpoint(unsigned.count, unsigned.head_hash, unsigned.at, signature)
