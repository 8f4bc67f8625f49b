"""The audit ledger chain: a clean chain verifies; each kind of tampering is named at its row."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from services.consent.domain import (
    GENESIS_HASH,
    ChainVerifier,
    LedgerEntry,
    chain_hash,
    next_entry,
    sign_checkpoint,
    verify,
)

HMAC_KEY = b"k" * 32
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(b"s" * 32)
PUBLIC_KEY = SIGNING_KEY.public_key()
START = datetime(2026, 11, 1, tzinfo=UTC)


def build_chain(count: int) -> list[LedgerEntry]:
    entries, head = [], None
    for i in range(count):
        head = next_entry(
            head, HMAC_KEY, at=START + timedelta(minutes=i), actor=f"agency-{i % 3}",
            action="authorization.decided", subject=f"consent-{i % 4}",
            participant_id=f"participant-{i % 2}",
            details={"permit": i % 5 != 0, "reason": "covered", "data_classes": ["contact"]},
        )
        entries.append(head)
    return entries


CHAIN = build_chain(30)


def renumbered(entries: list[LedgerEntry], first_seq: int = 1) -> list[LedgerEntry]:
    return [dataclasses.replace(e, seq=first_seq + i) for i, e in enumerate(entries)]


def check(entries, checkpoints=()):
    return verify(entries, checkpoints, HMAC_KEY, PUBLIC_KEY)


def test_a_clean_chain_verifies():
    checkpoints = [sign_checkpoint(CHAIN[9], START, SIGNING_KEY),
                   sign_checkpoint(CHAIN[-1], START, SIGNING_KEY)]

    result = check(CHAIN, checkpoints)

    assert result.ok and result.entries == 30
    assert result.as_dict() == {"ok": True, "entries": 30}


def test_an_empty_ledger_verifies():
    assert check([], [sign_checkpoint(None, START, SIGNING_KEY)]).ok


def test_the_chain_starts_at_genesis_and_links_each_row():
    assert CHAIN[0].seq == 1 and CHAIN[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(CHAIN, CHAIN[1:], strict=False))


def test_an_altered_row_is_named():
    chain = list(CHAIN)
    chain[11] = dataclasses.replace(chain[11], details={**chain[11].details, "reason": "expired"})

    result = check(chain)

    assert (result.ok, result.first_bad_seq, result.kind) == (False, 12, "altered")
    assert "12" in result.problem


def test_an_altered_row_with_a_recomputed_unkeyed_hash_is_named():
    chain = list(CHAIN)
    forged = dataclasses.replace(chain[4], actor="agency-9")
    chain[4] = dataclasses.replace(forged, hash=hashlib.sha256(repr(forged).encode()).hexdigest())

    assert (check(chain).first_bad_seq, check(chain).kind) == (5, "altered")


def test_a_deleted_row_is_named_by_its_missing_seq():
    chain = CHAIN[:7] + CHAIN[8:]

    result = check(chain)

    assert (result.first_bad_seq, result.kind) == (8, "deleted")


def test_a_deleted_row_with_the_rest_renumbered_is_named():
    chain = CHAIN[:7] + renumbered(CHAIN[8:], first_seq=8)

    assert (check(chain).first_bad_seq, check(chain).kind) == (8, "deleted")


def test_two_swapped_rows_are_named():
    swapped = CHAIN[:14] + renumbered([CHAIN[15], CHAIN[14]], first_seq=15) + CHAIN[16:]
    out_of_order = CHAIN[:14] + [CHAIN[15], CHAIN[14]] + CHAIN[16:]

    for chain in (swapped, out_of_order):
        result = check(chain)
        assert (result.first_bad_seq, result.kind) == (15, "reordered")


def test_an_inserted_row_is_named():
    forged = dataclasses.replace(CHAIN[19], seq=21, prev_hash=CHAIN[19].hash, hash="f" * 64)
    renumbering = CHAIN[:20] + [forged] + renumbered(CHAIN[20:], first_seq=22)
    duplicate_seq = CHAIN[:20] + [dataclasses.replace(CHAIN[19], actor="agency-7")] + CHAIN[20:]

    assert (check(renumbering).first_bad_seq, check(renumbering).kind) == (21, "inserted")
    assert (check(duplicate_seq).first_bad_seq, check(duplicate_seq).kind) == (20, "inserted")


def test_a_cut_tail_is_caught_by_the_latest_checkpoint():
    checkpoint = sign_checkpoint(CHAIN[-1], START, SIGNING_KEY)

    result = check(CHAIN[:25], [checkpoint])

    assert (result.ok, result.first_bad_seq, result.kind) == (False, 26, "truncated")
    assert check(CHAIN[:25]).ok  # without a checkpoint, a clean cut cannot be seen


def test_a_chain_rebuilt_with_the_hmac_key_differs_from_its_checkpoint():
    checkpoints = [sign_checkpoint(CHAIN[9], START, SIGNING_KEY),
                   sign_checkpoint(CHAIN[-1], START, SIGNING_KEY)]
    rebuilt = CHAIN[:20]
    while len(rebuilt) < 30:
        rebuilt.append(next_entry(rebuilt[-1], HMAC_KEY, at=START, actor="agency-x",
                                  action="authorization.decided", subject="consent-9"))

    result = check(rebuilt, checkpoints)

    assert (result.ok, result.first_bad_seq, result.kind) == (False, 11, "rewritten")


def test_a_forged_checkpoint_is_reported():
    forged = dataclasses.replace(sign_checkpoint(CHAIN[-1], START, SIGNING_KEY), count=40)
    other_key = sign_checkpoint(CHAIN[-1], START, Ed25519PrivateKey.generate())

    for checkpoint in (forged, other_key):
        result = check(CHAIN, [checkpoint])
        assert (result.ok, result.kind) == (False, "forged_checkpoint")


def test_a_forged_checkpoint_that_disagrees_with_the_chain_is_named_forged_not_rewritten():
    genuine = sign_checkpoint(CHAIN[9], START, SIGNING_KEY)
    wrong_head = dataclasses.replace(sign_checkpoint(CHAIN[19], START, Ed25519PrivateKey.generate()),
                                     head_hash="f" * 64)

    result = check(CHAIN, [genuine, wrong_head])

    assert (result.ok, result.first_bad_seq, result.kind) == (False, None, "forged_checkpoint")


class AskedFor:
    """A ``beside`` that notes how many signatures were checked and when the result was first
    asked for."""

    def __init__(self) -> None:
        self.checked: list[int] = []
        self.asked_after_rows: int | None = None
        self.verifier: ChainVerifier | None = None

    def __call__(self, work):
        def result():
            if self.asked_after_rows is None:
                self.asked_after_rows = self.verifier.checked
                self.outcome = work()
                self.checked.append(len(self.outcome))
            return self.outcome
        return result


def test_signatures_are_asked_for_only_once_the_rows_are_read_when_chain_and_checkpoints_agree():
    checkpoints = [sign_checkpoint(CHAIN[9], START, SIGNING_KEY),
                   sign_checkpoint(CHAIN[29], START, SIGNING_KEY)]
    beside = AskedFor()
    # The table and the checkpoint log hold the same checkpoints: each is checked once.
    verifier = beside.verifier = ChainVerifier(HMAC_KEY, PUBLIC_KEY, checkpoints * 2, beside=beside)

    for i in range(0, len(CHAIN), 8):
        verifier.feed(CHAIN[i:i + 8])
        assert beside.asked_after_rows is None
    result = verifier.finish()

    assert result.ok and verifier.checkpointed == 30
    assert beside.asked_after_rows == len(CHAIN) and beside.checked == [2]


def test_a_checkpoint_that_disagrees_with_the_chain_is_checked_where_it_disagrees():
    checkpoints = [sign_checkpoint(CHAIN[9], START, SIGNING_KEY),
                   sign_checkpoint(CHAIN[29], START, SIGNING_KEY)]
    rebuilt = CHAIN[:20]
    while len(rebuilt) < 40:
        rebuilt.append(next_entry(rebuilt[-1], HMAC_KEY, at=START, actor="agency-x",
                                  action="authorization.decided", subject="consent-9"))
    beside = AskedFor()
    verifier = beside.verifier = ChainVerifier(HMAC_KEY, PUBLIC_KEY, checkpoints, beside=beside)

    verifier.feed(rebuilt[:25])  # agrees with the checkpoint at 10; the one at 30 is ahead
    assert beside.asked_after_rows is None
    verifier.feed(rebuilt[25:])

    assert verifier.failed and beside.asked_after_rows == 25
    assert (verifier.finish().first_bad_seq, verifier.finish().kind) == (11, "rewritten")


def test_chunks_verify_like_one_call_and_report_progress():
    chain = list(CHAIN)
    chain[19] = dataclasses.replace(chain[19], at="2026-01-01T00:00:00.000000Z")
    verifier = ChainVerifier(HMAC_KEY, PUBLIC_KEY)

    progress = [verifier.feed(chain[i:i + 10]) for i in range(0, 30, 10)]

    assert progress == [10, 20, 30]
    assert verifier.finish() == check(chain)
    assert verifier.finish().first_bad_seq == 20


def test_a_swap_across_a_chunk_boundary_is_still_named():
    chain = CHAIN[:9] + renumbered([CHAIN[10], CHAIN[9]], first_seq=10) + CHAIN[11:]
    verifier = ChainVerifier(HMAC_KEY, PUBLIC_KEY)
    verifier.feed(chain[:10])
    verifier.feed(chain[10:])

    assert (verifier.finish().first_bad_seq, verifier.finish().kind) == (10, "reordered")


@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, 29), field=st.sampled_from(
    ["at", "actor", "action", "subject", "participant_id", "details", "prev_hash", "hash"]))
def test_any_single_altered_field_is_caught_at_its_row(position, field):
    chain = list(CHAIN)
    value = {"details": {"x": 1}, "at": "2020-01-01T00:00:00.000000Z",
             "prev_hash": "1" * 64, "hash": "a" * 64}.get(field, "changed")
    chain[position] = dataclasses.replace(chain[position], **{field: value})

    result = check(chain)

    assert not result.ok and result.first_bad_seq == position + 1


def test_entries_refuse_personal_details_and_values_that_would_not_round_trip():
    for details in ({"given_name": "Ana"}, {"nested": [{"email": "a@b.org"}]},
                    {"when": datetime.now(UTC)}, {"codes": ("a", "b")}, {1: "x"}):
        with pytest.raises(ValueError):
            next_entry(None, HMAC_KEY, at=START, actor="a", action="b", subject="c",
                       details=details)
    with pytest.raises(ValueError):
        next_entry(None, HMAC_KEY, at=START.replace(tzinfo=None), actor="a", action="b",
                   subject="c")


def test_the_hash_covers_the_previous_hash_and_the_seq():
    entry = CHAIN[3]

    assert chain_hash(HMAC_KEY, entry.prev_hash, entry.content()) == entry.hash
    moved = dataclasses.replace(entry, seq=5).content()
    assert chain_hash(HMAC_KEY, entry.prev_hash, moved) != entry.hash
    assert chain_hash(HMAC_KEY, GENESIS_HASH, entry.content()) != entry.hash
