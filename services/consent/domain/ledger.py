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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _encode_string
from typing import Any

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


# -- the canonical form of a stored row, without parsing its details ------------------------
#
# A row is stored with its details as the canonical JSON that was hashed, so for the shapes
# the service writes (a flat object of strings, whole numbers, booleans, nulls and lists of
# those) the canonical form of the row's content is the stored text spliced in as it is.
# ``canonical_row`` checks that the text *is* in that form (grammar below, keys strictly
# increasing) and otherwise parses it and encodes it as ``canonical`` does: either way the
# result is ``canonical(entry.content())`` of the entry read back from the row, byte for byte.

_STRING = r'"[^"\\\x00-\x1f]*"'  # nothing ``canonical`` would escape
_SCALAR = rf'(?:{_STRING}|0|-?[1-9][0-9]{{0,15}}|true|false|null)'
_VALUE = rf'(?:{_SCALAR}|\[(?:{_SCALAR}(?:,{_SCALAR})*)?\])'
_FLAT_OBJECT = re.compile(rf'\{{(?:{_STRING}:{_VALUE}(?:,{_STRING}:{_VALUE})*)?\}}')
# Every string token whole, from its opening quote: a key comes back quoted, any other string
# as "" (in a text _FLAT_OBJECT matched, no string holds a quote, so none is cut in two).
_TOKENS = re.compile(r'("[^"]*"):|"[^"]*"')
_SHAPES_KEPT = 64
# The shapes (key sequences, sorted) seen so far, as one pattern: a text with one of them is
# recognised in a single match, its keys' order known from the pattern itself.
_shapes: list[tuple[str, ...]] = []
_known_shape: re.Pattern[str] | None = None


def details_of(text: str) -> Any:
    """The details a stored row's text holds; ``{"unreadable": text}`` for text that is not
    JSON (tampered text: the hash check then names the row)."""
    try:
        return json.loads(text)
    except ValueError:
        return {"unreadable": text}


def _canonical_details_text(text: str) -> bool:
    """Whether ``text`` is already exactly ``canonical(json.loads(text))``, for the flat shapes."""
    if _known_shape is not None and _known_shape.fullmatch(text) is not None:
        return True
    if _FLAT_OBJECT.fullmatch(text) is None:
        return False
    keys = tuple(key[1:-1] for key in _TOKENS.findall(text) if key)
    if not all(a < b for a, b in zip(keys, keys[1:], strict=False)):
        return False
    _learn_shape(keys)
    return True


def _learn_shape(keys: tuple[str, ...]) -> None:
    global _known_shape
    if len(_shapes) >= _SHAPES_KEPT or keys in _shapes:
        return
    _shapes.append(keys)
    _known_shape = re.compile("|".join(
        r"\{" + ",".join(f'"{re.escape(key)}":{_VALUE}' for key in shape) + r"\}" for shape in _shapes))


def canonical_row(seq: Any, at: Any, actor: Any, action: Any, subject: Any, participant_id: Any,
                  details_text: Any) -> str:
    """``canonical`` of the content of the entry stored as this row (``details_text`` as
    stored). Raises ``TypeError``/``ValueError`` where ``canonical`` would."""
    if (type(seq) is int and type(details_text) is str and type(at) is str and type(actor) is str
            and type(action) is str and type(subject) is str
            and (participant_id is None or type(participant_id) is str)
            and _canonical_details_text(details_text)):
        return (f"[{seq},{_encode_string(at)},{_encode_string(actor)},{_encode_string(action)},"
                f"{_encode_string(subject)},"
                f"{'null' if participant_id is None else _encode_string(participant_id)},"
                f"{details_text}]")
    details = details_of(details_text) if isinstance(details_text, str) else details_text
    return canonical((seq, at, actor, action, subject, participant_id, details))


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


def next_entry(
    head: LedgerEntry | None,
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
