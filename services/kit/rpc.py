"""RPC clients for other services, with a deadline.

nameko 2.14's ``RpcProxy`` waits for a reply forever; a caller of a service that
is down must instead fail within its timeout, so every call through
``ServiceClient`` waits at most the configured seconds (``RPC_TIMEOUT_SECONDS`` by
default, default 5) and then raises ``ServiceUnavailable``, which crosses RPC as
itself so the gateway answers 503.

A request the caller has stopped waiting for must not run later (a referral created ten minutes
after its client was told 503): each request is published with an AMQP ``expiration`` equal to
the caller's deadline, so the broker drops it unconsumed once the caller has given up.

The request id the gateway gives each HTTP request travels in the worker's context data under
``REQUEST_ID``; nameko sends a worker's context data as headers with every RPC call it makes, so
each service in the chain (gateway → referrals → consent) sees the same id in its logs.

RPC requests and replies are transient (AMQP delivery mode 1): they carry participant details
(a referral to create, a consent to record, a handoff packet), and a persistent message waiting
in a queue rests on the broker's disk in clear. Losing one (only a broker restart drops a
transient message) is no worse than the timeout every call already has: the caller's deadline
turns it into ``ServiceUnavailable`` (503) and the client retries under its ``Idempotency-Key``.
A lost request changed nothing; a lost reply is the same case as a reply that came too late.
Services declare their entrypoints with ``services.kit.entrypoints.rpc``, whose replies are
transient too; events, which carry ids only, stay persistent.
"""

from __future__ import annotations

from typing import Any

import eventlet
from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError
from nameko.constants import NON_PERSISTENT
from nameko.rpc import RpcProxy

from services.kit.broker import SurvivingReplyListener
from services.kit.errors import ServiceUnavailable

# The context-data key (AMQP header ``nameko.request_id``) of the gateway's request id.
REQUEST_ID = "request_id"
# What publishing a request raises when the broker cannot be reached (after kombu's retries).
_UNREACHABLE = (OSError, OperationalError, RecoverableConnectionError)


class ServiceClient(RpcProxy):
    """Like ``RpcProxy``, but a call raises ``ServiceUnavailable`` past its deadline or without a broker."""

    rpc_reply_listener = SurvivingReplyListener()

    def __init__(self, target_service: str, timeout_key: str = "RPC_TIMEOUT_SECONDS", **options: Any) -> None:
        options.setdefault("delivery_mode", NON_PERSISTENT)  # never on the broker's disk (above)
        super().__init__(target_service, **options)
        self.timeout_key = timeout_key

    def get_dependency(self, worker_ctx) -> _TimedService:
        timeout = float(self.container.config.get(self.timeout_key, 5))
        return _TimedService(super().get_dependency(worker_ctx), self.target_service, timeout)


class _TimedService:
    def __init__(self, proxy: Any, name: str, timeout: float) -> None:
        self._proxy, self._name, self.timeout = proxy, name, timeout

    def __getattr__(self, method: str):
        def call(*args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            deadline = timeout or self.timeout
            # Publishing is inside the deadline too: without a broker it would retry for longer.
            try:
                with eventlet.Timeout(deadline):
                    proxy = getattr(self._proxy, method)  # a new method proxy, with its own publisher
                    proxy.publisher.expiration = deadline  # seconds; kombu sends the TTL in ms
                    return proxy.call_async(*args, **kwargs).result()
            except eventlet.Timeout:
                raise ServiceUnavailable(f"The {self._name} service did not answer in time.") from None
            except _UNREACHABLE as exc:  # the request could not be published
                raise ServiceUnavailable(f"The {self._name} service cannot be reached.") from exc

        return call
