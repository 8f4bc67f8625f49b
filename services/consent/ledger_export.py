"""Verifying a ledger export outside the network, as an auditor does.

The auditor holds three files and one secret: the export (``GET /v1/audit/ledger/export``, one
entry per line exactly as it was hashed), the checkpoint log kept outside the consent database
(``LEDGER_CHECKPOINT_LOG``), the public key (``GET /v1/audit/public-key``), and the ledger HMAC
key. The chain is recomputed row by row; every checkpoint's signature is checked; an export that
ends before the last signed checkpoint was cut, and one that differs from a signed head was
rewritten. Rows after the last checkpoint are covered by the HMAC chain alone, so the result says
how many rows the checkpoints cover.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from services.consent.adapters.checkpoint_log import CheckpointLogError, parse_checkpoint_lines
from services.consent.domain import ChainVerifier, Checkpoint, LedgerEntry
from services.consent.domain.commands import VERIFY_CHUNK
from services.consent.domain.ledger_verify import ALTERED, FORGED_CHECKPOINT
from services.consent.ledger_keys import decode_key
from services.kit.config import ConfigError
from services.kit.threads import on_a_thread

_TEXT_FIELDS = ("at", "actor", "action", "subject", "prev_hash", "hash")


class ExportLineError(ValueError):
    """A line of the export that is not a ledger entry; the message names the line."""


def parse_export_lines(lines: Iterable[str]) -> Iterator[LedgerEntry]:
    """The entries of an export's lines, in file order (blank lines skipped).

    Raises ``ExportLineError`` at the first line that is not an entry.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entry = LedgerEntry(**data)
        except (ValueError, TypeError):
            raise ExportLineError(f"line {number} of the export is not a ledger entry") from None
        if not _well_typed(entry):
            raise ExportLineError(f"line {number} of the export is not a ledger entry")
        yield entry


def _well_typed(entry: LedgerEntry) -> bool:
    return (type(entry.seq) is int and isinstance(entry.details, dict)
            and all(isinstance(getattr(entry, name), str) for name in _TEXT_FIELDS)
            and (entry.participant_id is None or isinstance(entry.participant_id, str)))


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """The Ed25519 key of a PEM file; ``ValueError`` for anything else."""
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key


def verify_export(entries: Iterable[LedgerEntry], checkpoints: list[Checkpoint], hmac_key: bytes,
                  public_key: Ed25519PublicKey, chunk_size: int = VERIFY_CHUNK) -> dict[str, Any]:
    """``{"ok", "entries", "checkpointed"}`` or, when not ok, also ``first_bad_seq``, ``problem``
    and ``kind`` (as ``ChainVerifier`` names them, or ``altered`` for an unreadable export line)."""
    verifier = ChainVerifier(hmac_key, public_key, checkpoints, beside=on_a_thread)
    it = iter(entries)
    try:
        while chunk := list(islice(it, chunk_size)):
            verifier.feed(chunk)
            if verifier.failed:
                break
    except ExportLineError as exc:
        return {"ok": False, "entries": verifier.checked, "first_bad_seq": None,
                "problem": str(exc), "kind": ALTERED}
    result = verifier.finish().as_dict()
    authentic = [c.count for c in checkpoints if c.is_authentic(public_key)]
    result["checkpointed"] = max(authentic, default=0)
    return result


def verify_export_command(args: argparse.Namespace) -> int:
    """``ledger verify --export --checkpoints --public-key``: print the result; 0 intact, 1 not,
    2 when a file or the HMAC key cannot be read."""
    missing = [flag for flag, value in (("--export", args.export), ("--checkpoints", args.checkpoints),
                                        ("--public-key", args.public_key)) if not value]
    if missing:
        return _unusable(f"{', '.join(missing)} missing: an export is verified with all three files")
    try:
        hmac_key = _hmac_key(args.hmac_key_file)
        public_key = load_public_key(Path(args.public_key).read_bytes())
        with open(args.checkpoints, encoding="utf-8", errors="replace") as lines:
            signed = parse_checkpoint_lines(lines)
    except CheckpointLogError as exc:
        print(json.dumps({"ok": False, "entries": 0, "first_bad_seq": None, "problem": str(exc),
                          "kind": FORGED_CHECKPOINT}))
        return 1
    except (ConfigError, OSError, ValueError) as exc:
        return _unusable(str(exc) if not isinstance(exc, OSError) else
                         f"cannot read {exc.filename}: {exc.strerror}")
    try:
        with open(args.export, encoding="utf-8", errors="replace") as lines:
            result = verify_export(parse_export_lines(lines), signed, hmac_key, public_key,
                                   max(args.chunk, 1))
    except OSError as exc:
        return _unusable(f"cannot read {exc.filename}: {exc.strerror}")
    print(json.dumps(result))
    return 0 if result["ok"] else 1


def _hmac_key(path: str | None) -> bytes:
    if path:
        return decode_key(Path(path).read_text(encoding="utf-8"), "the HMAC key file")
    return decode_key(os.environ.get("LEDGER_HMAC_KEY"), "LEDGER_HMAC_KEY")


def _unusable(problem: str) -> int:
    print(f"ledger verify: {problem}", file=sys.stderr)
    return 2
