"""Fixtures for the notifications tests: real local HTTP servers on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from notification_servers import LocalController


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[ReceivedRequest], tuple[int, dict[str, str], bytes]]


@dataclass
class LocalServer:
    url: str
    received: list[ReceivedRequest] = field(default_factory=list)


@pytest.fixture
def local_http() -> Iterator[Callable[[Responder], LocalServer]]:
    """Start real HTTP servers on 127.0.0.1 (ephemeral port, own thread)."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Responder) -> LocalServer:
        record = LocalServer(url="")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = ReceivedRequest("POST", self.path, dict(self.headers.items()),
                                          self.rfile.read(length))
                record.received.append(request)
                status, headers, body = respond(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass  # keep test output clean

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        record.url = f"http://127.0.0.1:{server.server_address[1]}"
        return record

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp_server():
    """Start real aiosmtpd servers on 127.0.0.1 (ephemeral port, own thread)."""
    controllers = []

    def start(handler, **smtp_options):
        controller = LocalController(handler, hostname="127.0.0.1", **smtp_options)
        controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        controller.stop()
