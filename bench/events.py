"""Where the benchmark hears the pipeline finish: a tap on an event exchange and a webhook
receiver. Both stamp arrivals with ``time.perf_counter()`` in this process, the same clock the
load generator stamps requests with, so latencies are differences of one clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kombu import Connection, Consumer, Exchange, Queue, binding

# (routing key, decoded body) -> the id an arrival is filed under, or None to only count it.
KeyOf = Callable[[str, Any], str | None]


class Arrivals:
    """First arrival time per id, and a count per kind; safe to share between threads."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, kind: str, key: str | None, at: float) -> None:
        with self._lock:
            self.counts[kind] += 1
            if key is not None and key not in self.first:
                self.first[key] = at

    def wait_for(self, keys: Iterable[str], timeout: float) -> int:
        """Wait until every key has arrived or ``timeout`` passes; how many are still missing."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout
        while True:
            missing = len(wanted.difference(self.first))
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.05)


class EventTap:
    """A private queue bound to ``exchange`` for ``routing_keys``, consumed in a thread.

    Messages are taken without acknowledgement: the tap measures, it must not slow the broker
    down more than a second consumer of the same events already does.
    """

    def __init__(self, amqp_uri: str, exchange: Exchange, routing_keys: Iterable[str],
                 key_of: KeyOf) -> None:
        self.arrivals = Arrivals()
        self._uri, self._exchange, self._keys, self._key_of = amqp_uri, exchange, list(routing_keys), key_of
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._consume, name="event-tap", daemon=True)

    def start(self) -> EventTap:
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the event tap could not bind its queue")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _consume(self) -> None:
        queue = Queue("", bindings=[binding(self._exchange, routing_key=key) for key in self._keys],
                      exclusive=True, auto_delete=True, durable=False)
        with Connection(self._uri) as conn, Consumer(conn, [queue], callbacks=[self._on_message],
                                                     no_ack=True, accept=["json"]):
            self._ready.set()
            while not self._stop.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    continue

    def _on_message(self, body: Any, message) -> None:
        at = time.perf_counter()
        if isinstance(body, bytes | str):
            body = json.loads(body)
        kind = message.delivery_info.get("routing_key", "")
        self.arrivals.record(kind, self._key_of(kind, body), at)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that answers every POST with 200 at once and files its
    arrival by ``key_of("webhook", decoded body)``."""

    def __init__(self, key_of: KeyOf) -> None:
        self.arrivals = Arrivals()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would offer

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                try:
                    key = key_of("webhook", json.loads(body))
                except ValueError:
                    key = None
                receiver.arrivals.record("webhook", key, at)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
