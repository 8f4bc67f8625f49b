"""The consent service as the handlers see it: four calls, each bounded in time.

The service's ``consent`` dependency is the kit's ``ServiceClient``, which gives up
after ``CONSENT_RPC_TIMEOUT_SECONDS`` with ``ServiceUnavailable`` (the gateway answers 503).
"""

from __future__ import annotations

from typing import Any


class ConsentClient:
    """Wraps the worker's consent client; keyword arguments as in docs/rpc.md."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy

    def authorize(self, **request: Any) -> dict[str, Any]:
        """Permit or deny with the reason and the allowed peer groups; always ledgered."""
        return self._proxy.authorize(**request)

    def covered_classes(self, **request: Any) -> dict[str, Any]:
        """Which of the data classes the consent covers for the recipient; not ledgered."""
        return self._proxy.covered_classes(**request)

    def disclose(self, **request: Any) -> dict[str, Any]:
        """The permitted participant details; raises ``ConsentRequired`` on deny."""
        return self._proxy.disclose(**request)

    def record_access(self, **request: Any) -> dict[str, Any]:
        """Ledger a read of personal details."""
        return self._proxy.record_access(**request)
