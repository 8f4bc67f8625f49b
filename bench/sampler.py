"""A sampling profiler for one eventlet process: where its CPU goes, by function and library.

The kernel sends SIGPROF after every few milliseconds of CPU the process uses
(``ITIMER_PROF``: user + system time, so time spent waiting is never sampled). The handler
runs on the main thread, where every greenthread runs, and sees the stack of whatever was
using the CPU. Each sample counts once for its innermost function (*self*), once for every
distinct function on its stack (*inclusive*), and once for the library its innermost frame
belongs to (*layer*). A C call that holds the CPU is charged to the Python function that
made it. About 0.5 % overhead at the default interval.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

INTERVAL_SECONDS = 0.004
# The checkout this file belongs to, wherever it lies; its own code is named relative to it.
ROOT = f"{Path(__file__).resolve().parents[1]}/"
# The first matching path fragment names the layer a frame belongs to.
LAYERS = (
    ("/eventlet/", "eventlet"), ("/greenlet/", "eventlet"), ("/sqlalchemy/", "SQLAlchemy"),
    ("/psycopg", "psycopg"), ("/marshmallow/", "marshmallow"), ("/kombu/", "kombu/amqp"),
    ("/amqp/", "kombu/amqp"), ("/nameko/", "nameko"), ("/werkzeug/", "werkzeug"),
    ("/cryptography/", "cryptography"), ("/requests/", "requests/urllib3"),
    ("/urllib3/", "requests/urllib3"), ("/numpy/", "numpy"), ("/json/", "json"),
    ("/logging/", "logging"), ("/jinja2/", "jinja2"), ("/babel/", "babel"),
    (f"{ROOT}services/", "product code"), (f"{ROOT}gateway/", "product code"),
    (f"{ROOT}console/", "product code"),
)


def layer_of(filename: str) -> str:
    for fragment, name in LAYERS:
        if fragment in filename:
            return name
    return "python stdlib/other"


def _name(code) -> str:
    path = code.co_filename.replace(ROOT, "").split("site-packages/")[-1]
    return f"{path}:{code.co_name}"


class Sampler:
    """``start`` before the work, ``stop`` after it; ``stop`` writes the counts to ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.samples = 0
        self.self_counts: Counter[str] = Counter()
        self.inclusive: Counter[str] = Counter()
        self.layers: Counter[str] = Counter()

    def start(self) -> None:
        """Sample from now on; SIGUSR2 forgets what was counted so far (e.g. the start-up)."""
        signal.signal(signal.SIGUSR2, self._reset)
        signal.signal(signal.SIGPROF, self._on_sample)
        signal.setitimer(signal.ITIMER_PROF, INTERVAL_SECONDS, INTERVAL_SECONDS)

    def _reset(self, _signum: int, _frame) -> None:
        self.samples = 0
        self.self_counts.clear()
        self.inclusive.clear()
        self.layers.clear()

    def _on_sample(self, _signum: int, frame) -> None:
        if frame is None:
            return
        self.samples += 1
        self.self_counts[_name(frame.f_code)] += 1
        self.layers[layer_of(frame.f_code.co_filename)] += 1
        seen = set()
        while frame is not None:
            seen.add(_name(frame.f_code))
            frame = frame.f_back
        self.inclusive.update(seen)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        self.out.write_text(json.dumps({
            "interval_s": INTERVAL_SECONDS, "samples": self.samples,
            "layers": dict(self.layers.most_common()), "self": dict(self.self_counts.most_common(80)),
            "inclusive": dict(self.inclusive.most_common(600)),
        }))
