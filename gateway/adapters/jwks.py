"""Fetching a SMART client's public key set from its ``jwks_uri``, with a short cache.

Only ``https`` URLs on public hosts are fetched (no reaching into the network the gateway runs
in); with ``allow_loopback`` (config ``SMART_JWKS_ALLOW_LOOPBACK``, for tests and local
development) ``http`` and ``https`` on the loopback interface are fetched too. A key set is kept
for ``ttl`` seconds; a ``kid`` missing from a cached set fetches it again at most every
``refetch_after`` seconds, so a client's new key works soon after it publishes it.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.notifications.domain.destinations import is_local_name, is_public_address

MAX_JWKS_BYTES = 64 * 1024
FETCH_TIMEOUT_SECONDS = 3.0


class JwksUnavailable(Exception):
    """The key set could not be fetched or read (the reason is for the log, not the client)."""


def url_problem(url: str, *, allow_loopback: bool) -> str | None:
    """Why ``url`` may not serve a key set (as written, before any lookup), or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "Not a URL."
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        return "Give an https URL of the key set."
    loopback = _is_loopback_name(host)
    if parts.scheme == "http" and not (allow_loopback and loopback):
        return "Give an https URL of the key set."
    if (loopback or is_local_name(host) or _is_private_literal(host)) and not (allow_loopback and loopback):
        return "The key set must be on a public host."
    return None


def _is_loopback_name(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_private_literal(host: str) -> bool:
    try:
        return not is_public_address(ipaddress.ip_address(host))
    except ValueError:
        return False


@dataclass
class _Cached:
    jwks: dict[str, Any]
    at: float


class JwksCache:
    """Key sets by URL, in the memory of one gateway process."""

    def __init__(self, *, allow_loopback: bool = False, ttl: float = 300.0, refetch_after: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 resolve: Callable[[str], list[str]] | None = None) -> None:
        self.allow_loopback, self.ttl, self.refetch_after = allow_loopback, ttl, refetch_after
        self.clock = clock
        self.resolve = resolve or _addresses
        self._cache: dict[str, _Cached] = {}

    def key_set(self, url: str, kid: str) -> dict[str, Any]:
        """The key set at ``url``, fresh enough to hold ``kid`` if the client publishes it.

        Raises ``JwksUnavailable`` when it cannot be fetched and none is cached.
        """
        now = self.clock()
        cached = self._cache.get(url)
        if cached is not None:
            age = now - cached.at
            has_kid = any(isinstance(k, dict) and k.get("kid") == kid for k in cached.jwks["keys"])
            if age < self.ttl and (has_kid or age < self.refetch_after):
                return cached.jwks
        try:
            jwks = self._fetch(url)
        except JwksUnavailable:
            if cached is not None and now - cached.at < self.ttl:
                return cached.jwks
            raise
        self._cache[url] = _Cached(jwks, now)
        return jwks

    def _fetch(self, url: str) -> dict[str, Any]:
        problem = url_problem(url, allow_loopback=self.allow_loopback)
        if problem:
            raise JwksUnavailable(problem)
        host = urlsplit(url).hostname or ""
        addresses = self.resolve(host)
        for address in addresses:
            parsed = ipaddress.ip_address(address.split("%")[0])
            if not is_public_address(parsed) and not (self.allow_loopback and parsed.is_loopback):
                raise JwksUnavailable("the key set's host resolves to an address that is not public")
        # requests (with urllib3, about 5 MB) is imported by the first fetch, not with the
        # gateway: only SMART clients that publish a key set by URL ever need one.
        import requests

        try:
            with requests.get(url, timeout=FETCH_TIMEOUT_SECONDS, stream=True, allow_redirects=False,
                              headers={"Accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise JwksUnavailable(f"the key set answered {response.status_code}")
                body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise JwksUnavailable(type(exc).__name__) from None
        if len(body) > MAX_JWKS_BYTES:
            raise JwksUnavailable("the key set is too large")
        try:
            jwks = json.loads(body)
        except ValueError:
            raise JwksUnavailable("the key set is not JSON") from None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise JwksUnavailable("the key set has no keys")
        return jwks


def _addresses(host: str) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (socket.gaierror, UnicodeError) as exc:
        raise JwksUnavailable("the key set's host does not resolve") from exc
