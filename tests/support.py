"""Small helpers shared by tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import eventlet
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import text

T = TypeVar("T")

# A test's RPC call that gets no answer (a crashed container, a lost reply) fails the test
# after this long instead of blocking the whole run.
RPC_TIMEOUT_SECONDS = 120


def service_proxy(service: str, config: dict, **options: Any) -> ServiceRpcProxy:
    """A standalone RPC proxy to ``service`` that never waits for a reply forever."""
    options.setdefault("timeout", RPC_TIMEOUT_SECONDS)
    return ServiceRpcProxy(service, config, **options)


def wait_for(probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.05,
             what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail the test after ``timeout``.

    Generous on purpose: it only costs time when something is wrong, and these machines are
    shared, so a loaded moment must not read as a failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last value: {value!r})")
        eventlet.sleep(interval)


def waiting_on_locks(engine) -> int:
    """How many sessions of ``engine``'s PostgreSQL database wait for a lock (a row's or an
    advisory one) right now."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one()


def settle(seconds: float) -> None:
    """Let background greenthreads run (used to prove that something does NOT happen)."""
    eventlet.sleep(seconds)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


Respond = Callable[[Received], tuple[int, bytes]]


@dataclass
class HttpReceiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers as told."""

    respond: Respond
    url: str = ""
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                receiver.received.append(request)
                status, body = receiver.respond(request)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass  # keep test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class EventTap:
    """A queue bound to the events exchange: what the services told the network.

    ``of_type`` drains what arrived so far and returns the events of one type whose payload
    has the given values; ``raw`` keeps every body as it travelled.
    """

    def __init__(self, amqp_uri: str, routing_key: str, name: str) -> None:
        from kombu import Connection, Queue

        from services.kit import topology

        self.connection = Connection(amqp_uri)
        topology.declare(self.connection, {})
        self.queue = Queue(name, exchange=topology.EVENTS, routing_key=routing_key, durable=False)
        self.queue(self.connection.default_channel).declare()
        self.seen: list[dict[str, Any]] = []
        self.raw: list[str] = []

    def of_type(self, event_type: str, **payload: Any) -> list[dict[str, Any]]:
        bound = self.queue(self.connection.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            body = message.body.decode() if isinstance(message.body, bytes) else message.body
            self.raw.append(body)
            self.seen.append(json.loads(body))
        return [e for e in self.seen if e["type"] == event_type
                and all(e["payload"].get(k) == v for k, v in payload.items() if v is not None)]

    def close(self) -> None:
        self.connection.release()
