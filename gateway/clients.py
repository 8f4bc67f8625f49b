"""RPC clients for the services, with a deadline.

nameko 2.14's ``RpcProxy`` waits for a reply forever; a request to a service
that is down must instead answer 503 within the timeout, so every call here
waits at most ``RPC_TIMEOUT_SECONDS`` (config, default 5).
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.rpc import RpcProxy

from gateway.exceptions import ServiceUnavailable


class ServiceClient(RpcProxy):
    """Like ``RpcProxy``, but every call raises ``ServiceUnavailable`` past its deadline."""

    def get_dependency(self, worker_ctx) -> _TimedService:
        timeout = float(self.container.config.get("RPC_TIMEOUT_SECONDS", 5))
        return _TimedService(super().get_dependency(worker_ctx), self.target_service, timeout)


class _TimedService:
    def __init__(self, proxy: Any, name: str, timeout: float) -> None:
        self._proxy, self._name, self.timeout = proxy, name, timeout

    def __getattr__(self, method: str):
        def call(*args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            reply = getattr(self._proxy, method).call_async(*args, **kwargs)
            try:
                with eventlet.Timeout(timeout or self.timeout):
                    return reply.result()
            except eventlet.Timeout:
                raise ServiceUnavailable(f"The {self._name} service did not answer in time.") from None

        return call
