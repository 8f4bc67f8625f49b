"""Checking the ledger: the first row that was altered, removed, added or moved, and cuts.

``ChainVerifier`` takes rows in chunks, in ``seq`` order, so a command line can stream a
large ledger and show progress; ``verify`` does it in one call. The good path costs one
canonical encoding and one HMAC per row; working out *what* happened to a bad row (it
looks one row ahead and tries nearby seq numbers) is paid only once, at the first bad row.
The checkpoints' signatures (one Ed25519 check each, as much work as several hundred rows)
can be checked beside the rows, on another thread: the chain needs to know whether a
checkpoint is genuine only where the chain and the checkpoint disagree.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.consent.domain.ledger import (
    GENESIS_HASH,
    Checkpoint,
    LedgerEntry,
    canonical,
    spliced_row,
)

T = TypeVar("T")
# Runs work, perhaps on another thread, and returns what waits for its result.
Beside = Callable[[Callable[[], T]], Callable[[], T]]

# Kinds of problem; ``problem`` says the same in words.
ALTERED, DELETED, INSERTED, REORDERED = "altered", "deleted", "inserted", "reordered"
TRUNCATED, REWRITTEN, FORGED_CHECKPOINT = "truncated", "rewritten", "forged_checkpoint"
# How far ahead a renumbered row may have come from and still be recognised.
_RENUMBER_WINDOW = 16
_END = object()


def _keyed_mac(hmac_key: bytes):
    """HMAC-SHA256 keyed once, to be ``copy()``-ed for each row: OpenSSL's own object where
    there is one (its ``copy`` is a single C call), else the standard library's."""
    try:
        from _hashlib import hmac_new
    except ImportError:  # pragma: no cover - a Python built without OpenSSL
        return hmac.new(hmac_key, digestmod="sha256")
    return hmac_new(hmac_key, b"", "sha256")


def when_needed(work: Callable[[], T]) -> Callable[[], T]:
    """A ``Beside`` that runs ``work`` on the caller's thread, the first time its result is needed."""
    done: list[T] = []

    def result() -> T:
        if not done:
            done.append(work())
        return done[0]
    return result


@dataclass(frozen=True)
class VerifyResult:
    """The outcome: ``entries`` rows read; when not ok, the first bad seq and what is wrong."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None
    kind: str | None = None
    checkpointed: int | None = None  # rows the signed checkpoints cover, when asked for

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"ok": True, "entries": self.entries} if self.ok else {
            "ok": False, "entries": self.entries, "first_bad_seq": self.first_bad_seq,
            "problem": self.problem, "kind": self.kind}
        if self.checkpointed is not None:
            shown["checkpointed"] = self.checkpointed
        return shown


class ChainVerifier:
    """Verify a ledger fed in chunks: ``feed`` each chunk in seq order, then ``finish``."""

    def __init__(self, hmac_key: bytes, public_key: Ed25519PublicKey,
                 checkpoints: Iterable[Checkpoint] = (), *, beside: Beside = when_needed) -> None:
        """``beside`` checks the checkpoints' signatures: by default on this thread when first
        needed; a ``Beside`` that runs on another thread checks them while rows are fed."""
        self._mac = _keyed_mac(hmac_key)
        self._expected, self._prev = 1, GENESIS_HASH
        self.checked = 0
        self._pending: tuple[LedgerEntry, int, str] | None = None
        self._failure: tuple[int | None, str, str] | None = None
        # Each checkpoint once (the table and the log hold the same ones), in count order.
        claims = sorted(dict.fromkeys(checkpoints), key=lambda c: c.count)
        self._claims = claims
        self._authentic = beside(lambda: [c.is_authentic(public_key) for c in claims])
        self._matched: list[int] = []  # claims whose head hash the chain matched
        self._cp_index = 0
        self._skip_checkpoints_below(1)

    @property
    def failed(self) -> bool:
        """True once a bad row is known; the rest of the input need not be read."""
        return self._failure is not None

    def feed(self, entries: Iterable[LedgerEntry]) -> int:
        """Check the next rows; returns how many rows have been read so far."""
        it = iter(entries)
        if self._failure is None and self._pending is not None:
            following = next(it, _END)
            if following is _END:
                return self.checked
            self.checked += 1
            self._resolve(following)
        if self._failure is not None:
            self.checked += sum(1 for _ in it)
            return self.checked
        mac_copy, expected, prev = self._mac.copy, self._expected, self._prev
        start, checkpoint_at = expected, self._next_checkpoint_count()
        for entry in it:
            seq = entry.seq
            if seq == expected and entry.prev_hash == prev:
                mac = mac_copy()
                try:
                    mac.update((prev + canonical((seq, entry.at, entry.actor, entry.action,
                                                  entry.subject, entry.participant_id,
                                                  entry.details))).encode())
                except (TypeError, ValueError):  # details that are not JSON: not ours
                    pass
                if mac.hexdigest() == entry.hash:
                    prev, expected = entry.hash, expected + 1
                    if seq == checkpoint_at:
                        self._check_checkpoints(seq, entry.hash)
                        if self._failure is not None:
                            break
                        checkpoint_at = self._next_checkpoint_count()
                    continue
            self._pending = (entry, expected, prev)
            following = next(it, _END)
            self.checked += 1
            if following is not _END:
                self.checked += 1
                self._resolve(following)
            break
        self.checked += expected - start
        self._expected, self._prev = expected, prev
        if self._failure is not None:
            self.checked += sum(1 for _ in it)
        return self.checked

    def feed_rows(self, rows: Sequence[tuple]) -> int:
        """``feed`` for rows as stored: ``(seq, at, actor, action, subject, participant_id,
        details text, prev_hash, hash)``, with no entry built for a row that checks out (the
        cheap path of a large ledger). The first row that does not, and every row after it
        in ``rows``, go through ``feed`` as entries, so a bad row is named exactly as there."""
        if self._failure is not None or self._pending is not None:
            return self.feed(map(LedgerEntry.from_row, rows))
        mac_copy = self._mac.copy
        expected, prev = self._expected, self._prev
        checkpoint_at = self._next_checkpoint_count()
        good = 0
        for row in rows:
            seq, at, actor, action, subject, participant_id, text, prev_hash, hash_ = row
            if seq != expected or prev_hash != prev:
                break
            mac = mac_copy()
            try:
                mac.update((prev + spliced_row(seq, at, actor, action, subject, participant_id,
                                               text)).encode())
            except (TypeError, ValueError):  # not a row the service wrote
                break
            if mac.hexdigest() != hash_:
                break  # perhaps the same details in another form: ``feed`` parses them
            prev, expected, good = hash_, expected + 1, good + 1
            if seq == checkpoint_at:
                self._check_checkpoints(seq, hash_)
                if self._failure is not None:
                    self._expected, self._prev = expected, prev
                    self.checked += len(rows)
                    return self.checked
                checkpoint_at = self._next_checkpoint_count()
        self._expected, self._prev = expected, prev
        self.checked += good
        if good == len(rows):
            return self.checked
        return self.feed(map(LedgerEntry.from_row, rows[good:]))

    @property
    def checkpointed(self) -> int:
        """How many rows the signed checkpoints matched so far cover (the rest rest on the chain)."""
        return self._matched_count(self._authentic())

    def finish(self) -> VerifyResult:
        """The result once every row was fed."""
        if self._failure is None and self._pending is not None:
            self._resolve(None)
        if self._failure is not None:
            seq, kind, problem = self._failure
            return VerifyResult(False, self.checked, seq, problem, kind)
        rows = self._expected - 1
        authentic = self._authentic()
        signed = [c for c, genuine in zip(self._claims, authentic, strict=True) if genuine]
        latest = signed[-1] if signed else None
        if latest is not None and latest.count > rows:
            return VerifyResult(
                False, self.checked, rows + 1,
                f"the ledger ends at seq {rows} but a checkpoint signed at {latest.at} "
                f"covers {latest.count} rows: rows after seq {rows} were removed", TRUNCATED)
        forged = [c for c, genuine in zip(self._claims, authentic, strict=True) if not genuine]
        if forged:
            cp = forged[0]
            return VerifyResult(
                False, self.checked, None,
                f"the checkpoint of {cp.count} rows dated {cp.at} has an invalid signature",
                FORGED_CHECKPOINT)
        return VerifyResult(True, self.checked)

    # -- checkpoints ---------------------------------------------------------------------------

    def _skip_checkpoints_below(self, seq: int) -> None:
        while self._cp_index < len(self._claims) and self._claims[self._cp_index].count < seq:
            self._cp_index += 1

    def _next_checkpoint_count(self) -> int:
        if self._cp_index < len(self._claims):
            return self._claims[self._cp_index].count
        return -1

    def _matched_count(self, authentic: list[bool]) -> int:
        return max((self._claims[i].count for i in self._matched if authentic[i]), default=0)

    def _check_checkpoints(self, seq: int, head_hash: str) -> None:
        """Compare the chain, which holds up to ``seq`` ending in ``head_hash``, with the
        checkpoints of ``seq`` rows. Whether a checkpoint is genuine is asked only where it
        disagrees with the chain; ``finish`` names a forged one."""
        while self._cp_index < len(self._claims) and self._claims[self._cp_index].count == seq:
            index, cp = self._cp_index, self._claims[self._cp_index]
            self._cp_index += 1
            if cp.head_hash == head_hash:
                self._matched.append(index)
                continue
            authentic = self._authentic()
            if authentic[index]:
                # The chain holds together but is not the chain that was signed: someone with
                # the HMAC key cut it back and rebuilt it, somewhere after the last match.
                matched = self._matched_count(authentic)
                self._failure = (
                    matched + 1, REWRITTEN,
                    f"row {seq} differs from the checkpoint signed at {cp.at}: the ledger "
                    f"was cut back and rewritten after seq {matched}")
                return

    # -- naming the problem --------------------------------------------------------------------

    def _genuine_as(self, entry: LedgerEntry, seq: int) -> bool:
        """Whether ``entry``'s hash fits its content if its seq were ``seq``."""
        content = (seq, entry.at, entry.actor, entry.action, entry.subject,
                   entry.participant_id, entry.details)
        mac = self._mac.copy()
        try:
            mac.update((entry.prev_hash + canonical(content)).encode())
        except (TypeError, ValueError):
            return False
        return mac.hexdigest() == entry.hash

    def _resolve(self, following: LedgerEntry | None) -> None:
        entry, expected, prev = self._pending  # type: ignore[misc]
        self._pending = None
        self._failure = self._diagnose(entry, expected, prev, following)

    def _diagnose(self, row: LedgerEntry, e: int, prev: str,
                  following: LedgerEntry | None) -> tuple[int, str, str]:
        if row.seq > e:
            if following is not None and following.seq == e:
                return e, REORDERED, f"row {e} comes after row {row.seq}"
            gone = f"row {e} is" if row.seq == e + 1 else f"rows {e} to {row.seq - 1} are"
            return e, DELETED, f"{gone} missing"
        if row.seq < e:
            if row.seq == e - 1:
                return row.seq, INSERTED, f"seq {row.seq} appears twice"
            return row.seq, REORDERED, f"row {row.seq} comes after row {e - 1}"
        if following is not None and following.prev_hash == prev and self._genuine_as(following, e):
            if self._genuine_as(row, e + 1):
                return e, REORDERED, f"rows {e} and {e + 1} were swapped"
            return e, INSERTED, f"row {e} was inserted and the rows after it renumbered"
        if row.prev_hash != prev:
            for origin in range(e + 1, e + 1 + _RENUMBER_WINDOW):
                if self._genuine_as(row, origin):
                    return e, DELETED, (f"rows {e} to {origin - 1} were removed and the rows "
                                        f"after them renumbered")
            if self._genuine_as(row, e):
                return e, INSERTED, f"row {e} does not link to row {e - 1}: a foreign row"
        return e, ALTERED, f"row {e} does not match its hash: it was altered or forged"


def verify(entries: Iterable[LedgerEntry], checkpoints: Iterable[Checkpoint],
           hmac_key: bytes, public_key: Ed25519PublicKey, *,
           beside: Beside = when_needed) -> VerifyResult:
    """Verify a whole ledger given in seq order against its checkpoints."""
    verifier = ChainVerifier(hmac_key, public_key, checkpoints, beside=beside)
    verifier.feed(entries)
    return verifier.finish()
