"""HTTP load: an open-loop generator for stepped rates and a closed loop for "flat out".

Open loop: request ``i`` is due at ``start + i / rate`` whether or not earlier ones have
answered; up to ``concurrency`` are in flight, so a server that cannot keep up makes requests
start late (``lag``) instead of silently lowering the offered rate. Closed loop: ``clients``
workers each send the next request as soon as the previous one answered.

Requests go over persistent HTTP/1.1 connections (one per worker, ``http.client``): a clinic
system posting referrals keeps its connection, and the client must cost little CPU, since it
shares the machine with the network it measures.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.stats import summary


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Sent:
    """One request: when it was due, when it started and ended, and what came back."""

    index: int
    due: float
    started: float
    ended: float
    status: int  # 0 when no HTTP answer came back
    body: bytes

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class LoadResult:
    """Every request of one run, with the run's planned and actual length."""

    sent: list[Sent]
    began: float
    planned_seconds: float
    ended: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> list[Sent]:
        return [s for s in self.sent if s.ok]

    def error_count(self) -> int:
        return sum(1 for s in self.sent if not s.ok)


class HttpTarget:
    """One persistent connection per thread to ``host:port``; reconnects once on failure."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return conn

    def send(self, request: Request) -> tuple[int, bytes]:
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(request.method, request.path, request.body,
                             {"Content-Type": "application/json", **request.headers})
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _send(target: HttpTarget, request: Request, index: int, due: float, errors: dict[str, int],
          lock: threading.Lock) -> Sent:
    started = time.perf_counter()
    try:
        status, body = target.send(request)
    except Exception as error:  # noqa: BLE001 - every failure is a counted error, not a crash
        status, body = 0, b""
        with lock:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
    return Sent(index, due, started, time.perf_counter(), status, body)


def _run_workers(count: int, work: Callable[[], None]) -> None:
    threads = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def open_loop(target: HttpTarget, make: Callable[[int], Request], rate: float, seconds: float,
              concurrency: int = 64) -> LoadResult:
    """Offer ``rate`` requests/s for ``seconds``; ``make(i)`` builds request ``i``."""
    total = max(1, round(rate * seconds))
    result = LoadResult([], time.perf_counter() + 0.05, seconds)
    counter, lock = itertools.count(), threading.Lock()

    def work() -> None:
        while (i := next(counter)) < total:
            due = result.began + i / rate
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            sent = _send(target, make(i), i, due, result.errors, lock)
            with lock:
                result.sent.append(sent)

    _run_workers(concurrency, work)
    result.ended = time.perf_counter()
    return result


def closed_loop(target: HttpTarget, make: Callable[[int], Request], clients: int,
                seconds: float) -> LoadResult:
    """``clients`` workers send back to back for ``seconds``."""
    result = LoadResult([], time.perf_counter(), seconds)
    deadline = result.began + seconds
    counter, lock = itertools.count(), threading.Lock()

    def work() -> None:
        while (now := time.perf_counter()) < deadline:
            sent = _send(target, make(next(counter)), 0, now, result.errors, lock)
            with lock:
                sent.index = len(result.sent)
                result.sent.append(sent)

    _run_workers(clients, work)
    result.ended = time.perf_counter()
    return result


def step_figures(result: LoadResult, target_rate: float | None) -> dict[str, Any]:
    """What the load generator itself saw: offered and accepted rates, errors, POST latency."""
    ok = result.ok
    # Over the planned window, or longer when the last answers came late.
    took = max(result.planned_seconds, max((s.ended for s in ok), default=0.0) - result.began, 1e-9)
    return {
        "target_rate": target_rate,
        "sent": len(result.sent),
        "accepted": len(ok),
        "accepted_rate": len(ok) / took,
        "errors": result.error_count(),
        "error_kinds": dict(result.errors) | _statuses(result),
        "post_ms": summary((s.seconds for s in ok), 1e3),
        "lag_ms": summary((max(0.0, s.started - s.due) for s in result.sent), 1e3),
    }


def _statuses(result: LoadResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in result.sent:
        if not s.ok and s.status:
            counts[f"http_{s.status}"] = counts.get(f"http_{s.status}", 0) + 1
    return counts
