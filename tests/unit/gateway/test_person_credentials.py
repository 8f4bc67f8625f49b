"""A person's credentials: argon2id passwords, TOTP codes accepted once, tokens kept as digests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from gateway.auth import Principal
from gateway.credentials import (
    INVITATION_PREFIX,
    SESSION_PREFIX,
    accepted_totp_step,
    email_index,
    hash_password,
    is_session_token,
    issue_token,
    new_totp_secret,
    parse_token,
    token_digest,
    verify_password,
)
from services.kit.messages import load_caller

PEPPER = b"p" * 32
NOW = datetime(2026, 11, 30, 9, 0, 10, tzinfo=UTC)


def test_a_password_is_stored_as_argon2id_and_only_the_right_one_verifies():
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapler")
    assert not verify_password(None, "correct horse battery staple")
    assert not verify_password("not a hash", "x")


def test_a_code_of_now_or_one_step_either_side_is_accepted_and_never_the_same_step_twice():
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)
    for drift in (-30, 0, 30):
        assert accepted_totp_step(secret, totp.at(NOW + timedelta(seconds=drift)), NOW, None) is not None
    assert accepted_totp_step(secret, totp.at(NOW + timedelta(seconds=90)), NOW, None) is None
    assert accepted_totp_step(secret, totp.at(NOW), NOW, None) == step
    assert accepted_totp_step(secret, totp.at(NOW), NOW, last_step=step) is None
    assert accepted_totp_step(secret, totp.at(NOW + timedelta(seconds=30)), NOW, last_step=step) == step + 1


def test_tokens_are_kept_as_digests_bound_to_their_kind():
    issued = issue_token(SESSION_PREFIX, PEPPER)
    token_id, secret = parse_token(issued.token, SESSION_PREFIX)
    assert token_id == issued.token_id and secret not in issued.digest
    assert token_digest(SESSION_PREFIX, token_id, secret, PEPPER) == issued.digest
    assert token_digest(INVITATION_PREFIX, token_id, secret, PEPPER) != issued.digest
    assert parse_token(issued.token, INVITATION_PREFIX) is None
    assert is_session_token(issued.token) and not is_session_token(f"rn_{'0' * 16}_{'x' * 43}")


def test_the_email_index_finds_an_email_whatever_its_case_without_holding_it():
    index = email_index(" Dana@Example.org ", PEPPER)
    assert index == email_index("dana@example.org", PEPPER)
    assert "dana" not in index and index != email_index("dana@example.org", b"q" * 32)


def test_the_acting_person_reaches_the_services_with_the_caller():
    principal = Principal("agency-1", "clinic", frozenset({"referrer"}), actor="person:p-1")
    caller = load_caller(principal.as_caller())
    assert (caller.agency_id, caller.roles) == ("agency-1", frozenset({"referrer"}))
    assert caller.actor == "person:p-1"
    # Without an actor the agency itself acted (a caller from before actors were named).
    assert load_caller({"agency_id": "agency-1", "kind": "clinic", "roles": []}).actor == "agency-1"
