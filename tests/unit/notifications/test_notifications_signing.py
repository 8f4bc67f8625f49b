import pytest

from services.notifications import signing

SECRET = "whsec_test-secret"
BODY = b'{"id":"ev-1","type":"match.proposed","data":{"match_id":"mt-1"}}'
T = 1_790_000_000


def test_signature_header_has_timestamp_and_hex_hmac_of_timestamp_dot_body():
    import hashlib
    import hmac

    header = signing.sign(SECRET, BODY, T)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"


def test_genuine_fresh_request_verifies_and_returns_its_timestamp():
    header = signing.sign(SECRET, BODY, T)
    assert signing.verify(SECRET, BODY, header, now=T + 10) == T


def test_tampered_body_is_a_mismatch():
    header = signing.sign(SECRET, BODY, T)
    with pytest.raises(signing.SignatureMismatch):
        signing.verify(SECRET, BODY.replace(b"mt-1", b"mt-2"), header, now=T)


def test_wrong_secret_is_a_mismatch():
    header = signing.sign("whsec_other", BODY, T)
    with pytest.raises(signing.SignatureMismatch):
        signing.verify(SECRET, BODY, header, now=T)


def test_changing_the_timestamp_breaks_the_signature():
    header = signing.sign(SECRET, BODY, T).replace(f"t={T}", f"t={T + 100}")
    with pytest.raises(signing.SignatureMismatch):
        signing.verify(SECRET, BODY, header, now=T + 100)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_timestamp_outside_tolerance_is_stale(skew):
    header = signing.sign(SECRET, BODY, T)
    with pytest.raises(signing.StaleSignature):
        signing.verify(SECRET, BODY, header, now=T + skew)


def test_tolerance_is_configurable():
    header = signing.sign(SECRET, BODY, T)
    assert signing.verify(SECRET, BODY, header, tolerance=3600, now=T + 3000) == T


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "v1=00", f"t={T}",
                                    f"t={T},v0=00"])
def test_malformed_headers_are_refused(header):
    with pytest.raises(signing.MalformedSignature):
        signing.verify(SECRET, BODY, header, now=T)


def test_any_matching_v1_value_is_accepted_so_secrets_can_roll_over():
    good = signing.sign(SECRET, BODY, T).split("v1=")[1]
    header = f"t={T},v1={'0' * 64},v1={good}"
    assert signing.verify(SECRET, BODY, header, now=T) == T


def test_every_failure_is_a_signature_error():
    assert issubclass(signing.SignatureMismatch, signing.SignatureError)
    assert issubclass(signing.StaleSignature, signing.SignatureError)
    assert issubclass(signing.MalformedSignature, signing.SignatureError)
