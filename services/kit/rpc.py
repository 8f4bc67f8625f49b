"""RPC clients for other services, with a deadline.

nameko 2.14's ``RpcProxy`` waits for a reply forever; a caller of a service that
is down must instead fail within its timeout, so every call through
``ServiceClient`` waits at most the configured seconds (``RPC_TIMEOUT_SECONDS`` by
default, default 5) and then raises ``ServiceUnavailable``, which crosses RPC as
itself so the gateway answers 503.

A request the caller has stopped waiting for must not run later (a referral created ten minutes
after its client was told 503): each request is published with an AMQP ``expiration`` equal to
the caller's deadline, so the broker drops it unconsumed once the caller has given up, and with
that deadline as an absolute time (header ``CALLER_DEADLINE``), so a request already taken off the
queue but still waiting for a free worker is dropped unrun too (see ``SurvivingRpc``).

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

Who is calling: every ``ServiceClient`` call carries the AMQP ``user_id`` property set to the broker
user it connected as, and RabbitMQ refuses a message whose ``user_id`` is not the connection's
own user. ``verified_rpc`` methods receive that user (never a header a client could forge), and
``CallingService`` checks it against ``RPC_CALLER_USERS`` (``service:broker user,...``), so a
method such as consent's ``disclose`` answers ``Forbidden`` to every service but the one allowed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import eventlet
from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError
from nameko.constants import NON_PERSISTENT
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from services.kit.broker import SurvivingReplyListener
from services.kit.config import ConfigError
from services.kit.entrypoints import CALLER_DEADLINE, SurvivingRpc
from services.kit.errors import Forbidden, ServiceUnavailable

log = logging.getLogger(__name__)

# The context-data key (AMQP header ``nameko.request_id``) of the gateway's request id.
REQUEST_ID = "request_id"
# The context-data key under which ``verified_rpc`` puts the broker user the request came from.
BROKER_USER = "broker_user"
# What publishing a request raises when the broker cannot be reached (after kombu's retries).
_UNREACHABLE = (OSError, OperationalError, RecoverableConnectionError)


class ServiceClient(RpcProxy):
    """Like ``RpcProxy``, but a call raises ``ServiceUnavailable`` past its deadline or without a broker."""

    rpc_reply_listener = SurvivingReplyListener()

    def __init__(self, target_service: str, timeout_key: str = "RPC_TIMEOUT_SECONDS", **options: Any) -> None:
        options.setdefault("delivery_mode", NON_PERSISTENT)  # never on the broker's disk (above)
        super().__init__(target_service, **options)
        self.timeout_key = timeout_key

    def setup(self) -> None:
        super().setup()
        # The broker checks this against the connection's user, so the callee can trust it.
        user = broker_user_of(self.container.config["AMQP_URI"])
        if user:
            self.options["user_id"] = user

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
                    proxy.publisher.publish = partial(
                        proxy.publisher.publish, headers={CALLER_DEADLINE: time.time() + deadline})
                    return proxy.call_async(*args, **kwargs).result()
            except eventlet.Timeout:
                raise ServiceUnavailable(f"The {self._name} service did not answer in time.") from None
            except _UNREACHABLE as exc:  # the request could not be published
                raise ServiceUnavailable(f"The {self._name} service cannot be reached.") from exc

        return call


def broker_user_of(amqp_uri: str) -> str:
    """The user name an AMQP URI connects as ('' when it names none)."""
    return unquote(urlsplit(amqp_uri).username or "")


class VerifiedRpc(SurvivingRpc):
    """``@rpc`` whose worker knows the broker user that sent the request (``BROKER_USER``).

    The value comes from the message's ``user_id`` property, which RabbitMQ validated; a header of
    the same name sent by a client is discarded.
    """

    def unpack_message_headers(self, message) -> dict[str, Any]:
        context = super().unpack_message_headers(message)
        context.pop(BROKER_USER, None)
        context[BROKER_USER] = message.properties.get("user_id")
        return context


verified_rpc = VerifiedRpc.decorator


def caller_users(spec: str | None) -> dict[str, str]:
    """``"referrals:rn-referrals,gateway:rn-gateway"`` as ``{service: broker user}``.

    Raises ``ConfigError`` for an entry that is not ``service:user``.
    """
    users: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        service, _, user = item.partition(":")
        if not service or not user:
            raise ConfigError(f"RPC_CALLER_USERS entries read service:user, not {item!r}")
        users[service.strip()] = user.strip()
    return users


class CallerCheck:
    """The calling service of one ``verified_rpc`` request, as the broker vouched for it."""

    def __init__(self, broker_user: str | None, users: Mapping[str, str], method: str, *,
                 vouched: bool = True) -> None:
        self.broker_user, self.users, self.method, self.vouched = broker_user, users, method, vouched

    def require(self, *services: str) -> None:
        """Raise ``Forbidden`` unless the request came from the broker user of one of ``services``.

        Not enforced when ``RPC_CALLER_USERS`` is empty (a development network on one user).
        Raises ``TypeError`` in a method that is not a ``verified_rpc`` (a wiring mistake).
        """
        if not self.vouched:
            raise TypeError(f"{self.method} must be a verified_rpc to check its caller")
        if not self.users:
            return
        if self.broker_user is None or self.broker_user not in {self.users.get(s) for s in services}:
            log.warning("%s refused to broker user %r: only %s may call it",
                        self.method, self.broker_user, ", ".join(services))
            raise Forbidden("This service may not call this method.")


class CallingService(DependencyProvider):
    """``self.calling.require("referrals")`` in a ``verified_rpc`` method (config ``RPC_CALLER_USERS``)."""

    def setup(self) -> None:
        self.users = caller_users(self.container.config.get("RPC_CALLER_USERS"))

    def get_dependency(self, worker_ctx) -> CallerCheck:
        method = f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
        # Only a verified_rpc's context holds a broker user the broker vouched for.
        vouched = isinstance(worker_ctx.entrypoint, VerifiedRpc)
        return CallerCheck(worker_ctx.data.get(BROKER_USER) if vouched else None, self.users, method,
                           vouched=vouched)
