import base64

import pytest

from services.kit.crypto import DecryptionError, FieldRef, KeyRing, generate_key, rotate

ROW = FieldRef("participants", "given_name", "row-1")


def ring(*ids: str) -> KeyRing:
    return KeyRing((kid, base64.b64decode(generate_key())) for kid in ids)


def test_round_trip_uses_the_newest_key():
    keys = ring("k1", "k2")
    token = keys.encrypt("Ana", ROW)
    assert token.startswith("v1.k2.")
    assert "Ana" not in token
    assert keys.decrypt(token, ROW) == "Ana"


def test_same_plaintext_encrypts_differently_each_time():
    keys = ring("k1")
    assert keys.encrypt("Ana", ROW) != keys.encrypt("Ana", ROW)


@pytest.mark.parametrize("other", [
    FieldRef("participants", "given_name", "row-2"),   # copied to another row
    FieldRef("participants", "family_name", "row-1"),  # moved to another column
    FieldRef("referrals", "given_name", "row-1"),      # moved to another table
])
def test_ciphertext_bound_to_its_table_column_and_row(other):
    keys = ring("k1")
    with pytest.raises(DecryptionError):
        keys.decrypt(keys.encrypt("Ana", ROW), other)


def test_swapped_rows_fail_to_decrypt():
    keys = ring("k1")
    row_a, row_b = FieldRef("p", "email", "a"), FieldRef("p", "email", "b")
    token_a, token_b = keys.encrypt("a@example.org", row_a), keys.encrypt("b@example.org", row_b)
    for token, ref in ((token_a, row_b), (token_b, row_a)):
        with pytest.raises(DecryptionError):
            keys.decrypt(token, ref)


def test_altered_byte_fails():
    keys = ring("k1")
    token = keys.encrypt("Ana", ROW)
    prefix, body = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 0x01
    with pytest.raises(DecryptionError):
        keys.decrypt(f"{prefix}.{base64.urlsafe_b64encode(bytes(raw)).decode()}", ROW)


def test_wrong_key_and_unknown_key_id_fail():
    token = ring("k1").encrypt("Ana", ROW)
    with pytest.raises(DecryptionError):
        ring("k1").decrypt(token, ROW)  # same id, different key material
    with pytest.raises(DecryptionError, match="unknown key id"):
        ring("k9").decrypt(token, ROW)


@pytest.mark.parametrize("junk", ["", "plain text", "v2.k1.AAAA", "v1.k1.!!!"])
def test_malformed_tokens_fail(junk):
    with pytest.raises(DecryptionError):
        ring("k1").decrypt(junk, ROW)


def test_rotation_reencrypts_every_row_while_reads_keep_working():
    k1, k2 = (base64.b64decode(generate_key()) for _ in range(2))
    old = KeyRing([("k1", k1)])
    refs = [FieldRef("p", "phone", str(n)) for n in range(50)]
    cells = {ref: old.encrypt(f"+1555000{n:04d}", ref) for n, ref in enumerate(refs)}

    rotated = KeyRing([("k1", k1), ("k2", k2)])
    # Old rows still read before anything is rotated.
    plain = [old.decrypt(cells[ref], ref) for ref in refs]
    assert [rotated.decrypt(cells[ref], ref) for ref in refs] == plain
    updates = dict(rotate(rotated, cells.items()))
    assert set(updates) == set(cells)
    for ref, token in updates.items():
        assert token.startswith("v1.k2.")
        assert rotated.decrypt(token, ref) == old.decrypt(cells[ref], ref)
    assert list(rotate(rotated, updates.items())) == []  # nothing left to rotate
    with pytest.raises(DecryptionError):
        old.decrypt(updates[refs[0]], refs[0])  # the new key really is in use


def test_key_ring_config_errors_are_clear():
    with pytest.raises(ValueError, match="empty"):
        KeyRing.from_config("")
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing.from_config("k1:" + base64.b64encode(b"short").decode())
