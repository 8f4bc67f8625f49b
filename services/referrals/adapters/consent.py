"""The consent service as the handlers see it: three calls, each bounded in time.

nameko 2.14's ``RpcProxy`` waits for a reply forever; a referral must not hang because consent
is slow, so every call here gives up after the configured timeout with ``RpcTimeout``.
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.exceptions import RpcTimeout


class ConsentClient:
    """Wraps the worker's ``RpcProxy("consent")``; keyword arguments as in docs/rpc.md."""

    def __init__(self, proxy: Any, timeout: float) -> None:
        self._proxy = proxy
        self._timeout = timeout

    def authorize(self, **request: Any) -> dict[str, Any]:
        """Permit or deny with the reason and the allowed peer groups; always ledgered."""
        return self._call("authorize", request)

    def disclose(self, **request: Any) -> dict[str, Any]:
        """The permitted participant details; raises ``ConsentRequired`` on deny."""
        return self._call("disclose", request)

    def record_access(self, **request: Any) -> dict[str, Any]:
        """Ledger a read of personal details."""
        return self._call("record_access", request)

    def _call(self, method: str, request: dict[str, Any]) -> dict[str, Any]:
        reply = getattr(self._proxy, method).call_async(**request)
        with eventlet.Timeout(self._timeout, RpcTimeout(f"consent.{method} did not answer in time")):
            return reply.result()
