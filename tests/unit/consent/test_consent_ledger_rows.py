"""Verifying rows as stored: a row's details spliced in unparsed give ``canonical`` of the entry
read back from it, byte for byte, exactly when the stored text is canonical; ``feed_rows`` reaches
the same verdict as ``feed``, whichever thread checks the checkpoints' signatures."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.consent.domain import ChainVerifier, LedgerEntry, next_entry, sign_checkpoint
from services.consent.domain.ledger import canonical, details_of, spliced_row
from services.consent.domain.ledger_verify import when_needed
from services.kit.threads import on_a_thread

HMAC_KEY = b"k" * 32
SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(b"s" * 32)
PUBLIC_KEY = SIGNING_KEY.public_key()
START = datetime(2026, 11, 1, tzinfo=UTC)

# Text as awkward as JSON text gets: quotes, backslashes, control characters, non-ASCII,
# astral and lone-surrogate code points, ':' and ',' where keys are looked for.
TEXT = st.text(alphabet=st.one_of(st.sampled_from('":,{}[]\\\x00\x1f\x7f é€𝄞\u2028\ud800ab'),
                                  st.characters()), max_size=8)
SCALARS = st.one_of(TEXT, st.booleans(), st.none(), st.integers(-10**18, 10**18),
                    st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(TEXT, inner, max_size=3)),
                      max_leaves=8)
DETAILS = st.dictionaries(TEXT, VALUES, max_size=6)
FLAT = st.dictionaries(TEXT, st.one_of(TEXT, st.booleans(), st.none(), st.integers(-10**15, 10**15),
                                       st.lists(st.one_of(TEXT, st.integers(-99, 99)), max_size=3)),
                       max_size=7)


def stored_texts(details):
    """Ways the same details may sit in the details column: canonical, and not."""
    plain = canonical(details)
    return st.sampled_from([
        plain,
        json.dumps(details, ensure_ascii=False),  # spaces, unsorted keys
        json.dumps(details, sort_keys=True, separators=(",", ":")),  # ASCII escapes
        json.dumps(dict(reversed(list(details.items()))), ensure_ascii=False, separators=(",", ":")),
        plain[:-1],  # not JSON at all
        plain.replace(":", ": ", 1),
        plain[:1] + plain[1:].replace(",", ",,", 1),
        plain.replace("1", "01", 1),
        plain.replace("}", ',"":0}', 1) if plain != "{}" else '{"":0,"":1}',  # duplicate keys
    ])


# What the service writes: flat details of strings canonical need not escape.
PLAIN = st.text(alphabet=st.characters(blacklist_characters='"\\', blacklist_categories=("Cc",)),
                max_size=8)
STORED = st.dictionaries(PLAIN, st.one_of(PLAIN, st.booleans(), st.none(), st.integers(-10**15, 10**15),
                                          st.lists(st.one_of(PLAIN, st.integers(-99, 99)), max_size=3)),
                         max_size=7)
ROW_FIELDS = st.tuples(st.integers(-3, 10**12), TEXT, TEXT, TEXT, TEXT, st.one_of(st.none(), TEXT))


def reference(fields, text) -> str:
    """What a row's hash covers: ``canonical`` of the entry read back from the row."""
    return canonical((*fields, details_of(text)))


@settings(max_examples=400, deadline=None)
@given(fields=ROW_FIELDS, details=st.one_of(DETAILS, FLAT), data=st.data())
def test_the_spliced_form_of_a_row_is_canonical_exactly_when_its_text_is(fields, details, data):
    try:
        text = data.draw(stored_texts(details))
    except ValueError:
        assume(False)  # a float canonical refuses: such details are never stored
    text_is_canonical = text == canonical(details_of(text))

    assert (spliced_row(*fields, text) == reference(fields, text)) is text_is_canonical


@settings(max_examples=200, deadline=None)
@given(fields=ROW_FIELDS, details=STORED)
def test_the_shapes_the_service_stores_verify_spliced(fields, details):
    assert spliced_row(*fields, canonical(details)) == reference(fields, canonical(details))


def test_text_that_is_not_canonical_never_splices_into_the_hashed_form():
    fields = (7, "2026-11-01T10:00:00.000000Z", "agency", "decision", "consent-1", None)
    for text in ('{"b":1,"a":2}', '{"a":1,"a":2}', '{"a": 1}', '{"a":1.50}', '{"a":-0}', '{"a":01}',
                 '{"a":"\\u00e9"}', '{"a":1', '{"a\\/":1}', '{"x":"y",":b":1,"a":2}',
                 '{"a":"x,",":b":1}', '{"a":1e3}', "", "null]"):
        assert spliced_row(*fields, text) != reference(fields, text), text


def test_a_field_that_is_not_text_is_refused_by_the_spliced_form():
    with pytest.raises(TypeError):
        spliced_row(1, 20261101, "agency", "decision", "consent-1", None, "{}")
    with pytest.raises(TypeError):
        spliced_row(1, "at", "agency", "decision", "consent-1", 5, "{}")


# -- feed_rows decides as feed does ---------------------------------------------------------------

def chain(count: int) -> list[LedgerEntry]:
    entries, head = [], None
    for i in range(count):
        head = next_entry(head, HMAC_KEY, at=START + timedelta(minutes=i), actor=f"agency-{i % 3}",
                          action="authorization.decided", subject=f"consent-{i % 4}",
                          participant_id=None if i % 7 == 0 else f"participant-{i % 2}",
                          details={"permit": i % 5 != 0, "reason": "covered", "version": i,
                                   "data_classes": ["contact", "referral-reason"]})
        entries.append(head)
    return entries


CHAIN = chain(40)
CHECKPOINTS = [sign_checkpoint(CHAIN[9], START, SIGNING_KEY), sign_checkpoint(CHAIN[29], START, SIGNING_KEY)]


def as_row(entry: LedgerEntry, details_text: str | None = None) -> tuple:
    return (entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.participant_id,
            canonical(entry.details) if details_text is None else details_text, entry.prev_hash,
            entry.hash)


def verdicts(rows: list[tuple], chunk: int, checkpoints=CHECKPOINTS):
    """``feed_rows`` with the signatures checked on another thread, and ``feed`` with them
    checked on this one when needed."""
    by_rows = ChainVerifier(HMAC_KEY, PUBLIC_KEY, checkpoints, beside=on_a_thread)
    by_entries = ChainVerifier(HMAC_KEY, PUBLIC_KEY, checkpoints, beside=when_needed)
    progress_rows = [by_rows.feed_rows(rows[i:i + chunk]) for i in range(0, len(rows), chunk)]
    progress_entries = [by_entries.feed([LedgerEntry.from_row(r) for r in rows[i:i + chunk]])
                        for i in range(0, len(rows), chunk)]
    return (by_rows.finish(), progress_rows, by_rows.checkpointed), \
        (by_entries.finish(), progress_entries, by_entries.checkpointed)


TAMPERS = ["at", "actor", "subject", "participant_id", "details", "details_spaced", "prev_hash",
           "hash", "delete", "swap", "insert", "duplicate", "truncate", "renumber"]


def tampered(kind: str, at: int) -> list[tuple]:
    rows = [as_row(e) for e in CHAIN]
    row = list(rows[at])
    if kind in ("at", "actor", "subject"):
        row[{"at": 1, "actor": 2, "subject": 4}[kind]] = "changed"
    elif kind == "participant_id":
        row[5] = None if row[5] else "participant-9"
    elif kind == "details":
        row[6] = row[6].replace('"covered"', '"not-covered"')
    elif kind == "details_spaced":  # the same details spaced out: the hash covers their meaning
        row[6] = row[6].replace(",", ", ")
    elif kind == "prev_hash":
        row[7] = "1" * 64
    elif kind == "hash":
        row[8] = "a" * 64
    elif kind == "delete":
        return rows[:at] + rows[at + 1:]
    elif kind == "swap" and at + 1 < len(rows):
        return rows[:at] + [rows[at + 1], rows[at]] + rows[at + 2:]
    elif kind == "insert":
        return rows[:at] + [as_row(dataclasses.replace(CHAIN[at], actor="intruder"))] + rows[at:]
    elif kind == "duplicate":
        return rows[:at + 1] + [rows[at]] + rows[at + 1:]
    elif kind == "truncate":
        return rows[:at]
    elif kind == "renumber":
        return rows[:at] + [(r[0] - 1, *r[1:]) for r in rows[at + 1:]]
    rows[at] = tuple(row)
    return rows


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(TAMPERS), at=st.integers(0, 39), chunk=st.sampled_from([1, 3, 10, 1000]))
def test_feed_rows_names_every_tampering_as_feed_does(kind, at, chunk):
    rows = tampered(kind, at)

    fast, slow = verdicts(rows, chunk)

    assert fast == slow
    clean = [as_row(e) for e in CHAIN]
    if kind == "details_spaced":  # the slow path (the parsed details) and canonical_row agree
        assert fast[0].ok
    elif rows == clean[:len(rows)] and len(rows) >= CHECKPOINTS[-1].count:
        assert fast[0].ok  # a cut tail no checkpoint covers rests on the chain alone
    else:
        assert not fast[0].ok


def test_a_clean_ledger_verifies_row_by_row_with_its_checkpoints():
    (result, progress, checkpointed), _ = verdicts([as_row(e) for e in CHAIN], 16)

    assert result.ok and result.entries == 40
    assert progress == [16, 32, 40] and checkpointed == 30
