"""The SMS provider's webhook signature, computed and checked as Twilio documents it."""

from __future__ import annotations

from gateway.twilio import compute_signature, is_valid

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+14158675309"], "Digits": ["1234"],
          "From": ["+14158675309"], "To": ["+18005551212"]}
# Twilio's published example: auth token 12345, this URL and these parameters.
PUBLISHED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilio_published_example():
    assert compute_signature("12345", URL, PARAMS) == PUBLISHED
    assert is_valid("12345", URL, PARAMS, PUBLISHED)


def test_parameter_order_does_not_count():
    shuffled = dict(reversed(list(PARAMS.items())))
    assert compute_signature("12345", URL, shuffled) == PUBLISHED


def test_forged_signatures_are_refused():
    assert not is_valid("12345", URL, {**PARAMS, "Digits": ["9999"]}, PUBLISHED)  # body changed
    assert not is_valid("54321", URL, PARAMS, PUBLISHED)  # another token
    assert not is_valid("12345", URL.replace("foo=1", "foo=2"), PARAMS, PUBLISHED)  # another URL
    assert not is_valid("12345", URL, PARAMS, None)
    assert not is_valid("12345", URL, PARAMS, "")
    assert not is_valid("", URL, PARAMS, compute_signature("", URL, PARAMS))  # no token: nothing verifies
