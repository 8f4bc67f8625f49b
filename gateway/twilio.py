"""Verifying an SMS provider's webhook the way Twilio documents it.

``X-Twilio-Signature`` is base64(HMAC-SHA1(auth token, URL + each POST parameter's name and value,
parameters sorted by name)). The URL is the full URL the provider requested, query string
included (config ``SMS_WEBHOOK_URL`` when the gateway sits behind a proxy that changes it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "X-Twilio-Signature"


def compute_signature(auth_token: str, url: str, params: Mapping[str, Iterable[str]]) -> str:
    """The signature of a POST to ``url`` with form ``params`` (each name to its values)."""
    data = url
    for name in sorted(params):
        for value in sorted(set(params[name])):
            data += name + value
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_valid(auth_token: str, url: str, params: Mapping[str, Iterable[str]], signature: str | None) -> bool:
    """Whether ``signature`` is the provider's for this request. No token configured: never valid."""
    if not auth_token or not signature:
        return False
    expected = compute_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())
