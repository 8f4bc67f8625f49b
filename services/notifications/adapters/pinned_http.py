"""HTTP(S) connections for webhooks that go only where the destination check said they may.

A webhook URL's name is resolved once per connection; every address it resolves to must be
public (``domain.destinations``), and the socket is then opened to one of those same addresses,
never to the result of a second lookup (a name that answers a public address to the check and
a private one to the connection would otherwise slip through). The Host header, TLS SNI and
certificate verification still use the name in the URL.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from services.notifications.domain.destinations import is_public_address, is_refused_host

Resolve = Callable[..., Sequence[tuple[Any, ...]]]  # socket.getaddrinfo's shape
Connect = Callable[..., socket.socket]  # urllib3's create_connection's shape


class DestinationRefused(Exception):
    """The destination is this machine or a private network. Deliberately not an ``OSError``:
    the HTTP libraries turn those into retryable connection errors, and this must not be retried."""


@dataclass(frozen=True)
class Connector:
    """Resolves, checks and connects. ``resolve`` and ``connect`` are the socket layer (test
    doubles in unit tests; by default ``socket.getaddrinfo`` as it is when called, and urllib3's
    ``create_connection``); ``allow_private_hosts`` is for local networks and tests."""

    allow_private_hosts: bool = False
    resolve: Resolve | None = None
    connect: Connect = field(default=urllib3_connection.create_connection)

    def vetted_addresses(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to, each one checked.

        Raises ``DestinationRefused`` for a local name or a private address literal (in any
        spelling, before anything is resolved) or if ANY address is not public (a name with one
        private answer among public ones is refused too), and ``socket.gaierror`` when the name
        does not resolve.
        """
        if not self.allow_private_hosts and is_refused_host(host):
            raise DestinationRefused(host)
        addresses: list[str] = []
        resolve = self.resolve or socket.getaddrinfo
        for *_, sockaddr in resolve(host, port, type=socket.SOCK_STREAM):
            if sockaddr[0] not in addresses:
                addresses.append(str(sockaddr[0]))
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        if not self.allow_private_hosts and not all(
                is_public_address(ipaddress.ip_address(a)) for a in addresses):
            raise DestinationRefused(host)
        return addresses

    def open(self, host: str, port: int, timeout: Any, source_address: Any = None,
             socket_options: Any = None) -> socket.socket:
        """A socket connected to one of the vetted addresses of ``host`` (tried in order).

        Raises as ``vetted_addresses``, or the last ``OSError`` when no address answers.
        """
        last_error: OSError | None = None
        for address in self.vetted_addresses(host, port):
            try:
                return self.connect((address, port), timeout, source_address=source_address,
                                    socket_options=socket_options)
            except OSError as error:
                last_error = error
        raise last_error or OSError("no address answered")


class _PinnedConnectionMixin:
    """Replaces urllib3's own connect (which resolves the name again) with the connector's."""

    connector: Connector

    def _new_conn(self) -> socket.socket:
        me: Any = self
        try:
            sock = self.connector.open(me.host, me.port, me.timeout, me.source_address,
                                       me.socket_options)
        except socket.gaierror as error:
            raise NameResolutionError(me.host, me, error) from error
        except TimeoutError as error:
            raise ConnectTimeoutError(me, f"Connection to {me.host} timed out.") from error
        except OSError as error:
            raise NewConnectionError(me, f"Failed to establish a new connection: {error}") from error
        sys.audit("http.client.connect", me, me.host, me.port)
        return sock


class PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class PinnedAdapter(HTTPAdapter):
    """A ``requests`` transport adapter whose connections all go through ``connector``."""

    def __init__(self, connector: Connector, **kwargs: Any) -> None:
        self.connector = connector  # set first: HTTPAdapter.__init__ builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        bound = {"connector": self.connector}
        http = type("PinnedHTTP", (PinnedHTTPConnection,), bound)
        https = type("PinnedHTTPS", (PinnedHTTPSConnection,), bound)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }


def pinned_session(connector: Connector) -> requests.Session:
    """A session that reaches hosts only through ``connector`` and ignores proxy settings from
    the environment (a proxy would be checked instead of the destination)."""
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(connector)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
