"""API keys: issued once, stored as a keyed hash, verified in constant time, parsed strictly."""

from __future__ import annotations

import pytest

from gateway.auth import (
    IssuedKey,
    Principal,
    StoredKey,
    authenticate,
    bearer_token,
    issue_api_key,
    parse_api_key,
    pepper_from_setting,
    verify_api_key,
)
from gateway.exceptions import Unauthenticated

PEPPER = pepper_from_setting("a server pepper that is long enough to count")


class Keys:
    def __init__(self, *rows: StoredKey) -> None:
        self.rows = {row.key_id: row for row in rows}

    def find_key(self, key_id: str) -> StoredKey | None:
        return self.rows.get(key_id)


def stored(issued: IssuedKey, revoked: bool = False) -> StoredKey:
    return StoredKey(issued.key_id, issued.digest, "agency-1", "hospital",
                     frozenset({"referrer"}), revoked)


def test_an_issued_key_round_trips_to_its_agency():
    issued = issue_api_key(PEPPER)
    assert issued.api_key.startswith(f"rn_{issued.key_id}_")
    assert parse_api_key(issued.api_key) == (issued.key_id, issued.api_key.split("_", 2)[2])
    assert verify_api_key(issued.api_key, issued.digest, PEPPER)
    principal = authenticate(f"Bearer {issued.api_key}", Keys(stored(issued)), PEPPER)
    assert principal == Principal("agency-1", "hospital", frozenset({"referrer"}), issued.key_id)
    assert principal.as_caller() == {"agency_id": "agency-1", "kind": "hospital",
                                     "roles": ["referrer"], "actor": ""}


def test_the_stored_digest_reveals_nothing_of_the_secret():
    issued = issue_api_key(PEPPER)
    secret = issued.api_key.split("_", 2)[2]
    assert secret not in issued.digest and len(issued.digest) == 64
    assert issue_api_key(PEPPER).api_key != issued.api_key


def test_a_wrong_secret_or_pepper_does_not_verify():
    issued = issue_api_key(PEPPER)
    key_id, secret = parse_api_key(issued.api_key)
    other_secret = ("B" if secret[0] != "B" else "C") + secret[1:]
    assert not verify_api_key(f"rn_{key_id}_{other_secret}", issued.digest, PEPPER)
    assert not verify_api_key(issued.api_key, issued.digest, PEPPER + b"!")
    assert not verify_api_key("not a key", issued.digest, PEPPER)


def test_a_digest_copied_to_another_key_id_does_not_verify():
    first, second = issue_api_key(PEPPER), issue_api_key(PEPPER)
    _, secret = parse_api_key(first.api_key)
    assert not verify_api_key(f"rn_{second.key_id}_{secret}", first.digest, PEPPER)


@pytest.mark.parametrize("case", ["wrong secret", "unknown key id", "revoked"])
def test_bad_keys_all_get_the_same_answer(case):
    issued = issue_api_key(PEPPER)
    key_id, secret = parse_api_key(issued.api_key)
    keys = Keys(stored(issued, revoked=(case == "revoked")))
    api_key = {"wrong secret": f"rn_{key_id}_{'x' * 43}",
               "unknown key id": f"rn_{'0' * 16}_{secret}",
               "revoked": issued.api_key}[case]
    with pytest.raises(Unauthenticated) as caught:
        authenticate(f"Bearer {api_key}", keys, PEPPER)
    assert caught.value.detail == "The API key is not valid."


@pytest.mark.parametrize("header", [
    None, "", "   ", "Basic YWdlbmN5OnNlY3JldA==", "Bearer", "Bearer   ", "Bearer a b",
    "Token rn_0123456789abcdef_x", "Bearer rn_short_secret",
    "Bearer rn_0123456789ABCDEF_" + "x" * 43,
])
def test_malformed_authorization_headers_are_unauthenticated(header):
    with pytest.raises(Unauthenticated):
        authenticate(header, Keys(), PEPPER)


def test_the_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("BEARER abc") == "abc"


@pytest.mark.parametrize("value", [None, "", "short pepper"])
def test_a_missing_or_short_pepper_stops_the_gateway(value):
    with pytest.raises(ValueError):
        pepper_from_setting(value)
