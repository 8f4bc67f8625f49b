"""Keeps the network's processes running: a process that exits is started again, with backoff.

`make run` used to hand its processes to a Procfile runner that stopped all five when one
died. Here each process is watched on its own: when one exits without being asked to, the
supervisor logs it and starts it again after a delay that doubles with each quick crash
(``backoff_start`` up to ``backoff_max`` seconds) and falls back to the start once the process
has stayed up ``stable_after`` seconds. Only ``stop()`` ends a process for good.

Each line a process writes is printed with its name in front, as the Procfile runner did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class _Child:
    name: str
    command: Sequence[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay: float = 0.0
    due_at: float | None = None  # when a crashed process is to start again
    output: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    """Starts named commands, restarts any that exits, and stops them all on ``stop()``.

    ``emit`` receives every line: the processes' own output (prefixed with their name) and the
    supervisor's notes (``supervisor | consent exited with code -9; restart 1 in 1.0 s``).
    """

    def __init__(self, commands: Mapping[str, Sequence[str]], *, env: Mapping[str, str], cwd: Path,
                 emit: Callable[[str], None] | None = None, backoff_start: float = 1.0,
                 backoff_max: float = 30.0, stable_after: float = 30.0, poll: float = 0.2) -> None:
        self._children = {name: _Child(name, list(command)) for name, command in commands.items()}
        self._env, self._cwd = dict(env), cwd
        self._emit = emit or _print
        self._backoff_start, self._backoff_max = backoff_start, backoff_max
        self._stable_after, self._poll = stable_after, poll
        self._width = max(len(name) for name in (*self._children, "supervisor"))
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- what callers see -------------------------------------------------------------------

    def start(self) -> None:
        """Start every process and the thread that watches them."""
        for child in self._children.values():
            self._launch(child)
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._watcher.start()

    def pid(self, name: str) -> int | None:
        """The OS process id of ``name`` now, or None while it waits to be restarted."""
        process = self._children[name].process
        return process.pid if process is not None and process.poll() is None else None

    def restarts(self, name: str) -> int:
        return self._children[name].restarts

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every process (SIGTERM, then SIGKILL after ``timeout``); none is restarted after."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            running = [c.process for c in self._children.values() if c.process and c.process.poll() is None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        for child in self._children.values():
            for reader in child.output:
                reader.join(timeout=2)

    # -- the watch loop ------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.wait(self._poll):
            now = time.monotonic()
            for child in self._children.values():
                with self._lock:
                    if self._stopping.is_set():
                        return
                    if child.due_at is not None:
                        if now >= child.due_at:
                            self._launch(child)
                    elif child.process is not None and child.process.poll() is not None:
                        self._schedule_restart(child, now)

    def _schedule_restart(self, child: _Child, now: float) -> None:
        stayed_up = now - child.started_at
        if stayed_up >= self._stable_after or child.delay == 0:
            child.delay = self._backoff_start
        else:
            child.delay = min(child.delay * 2, self._backoff_max)
        child.restarts += 1
        child.due_at = now + child.delay
        self._note(f"{child.name} exited with code {child.process.returncode} after {stayed_up:.1f} s; "
                   f"restart {child.restarts} in {child.delay:.1f} s")

    def _launch(self, child: _Child) -> None:
        child.due_at = None
        child.started_at = time.monotonic()
        # Its own session: a signal meant for the supervisor's terminal does not reach it twice.
        child.process = subprocess.Popen(
            child.command, cwd=self._cwd, env=self._env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        reader = threading.Thread(target=self._relay_output, args=(child.name, child.process.stdout),
                                  name=f"output of {child.name}", daemon=True)
        reader.start()
        child.output = [t for t in child.output if t.is_alive()] + [reader]
        if child.restarts:
            self._note(f"{child.name} started again (pid {child.process.pid})")

    def _relay_output(self, name: str, stream: IO[bytes]) -> None:
        with stream:
            for raw in stream:
                self._emit(f"{name:<{self._width}} | {raw.decode(errors='replace').rstrip()}")

    def _note(self, text: str) -> None:
        self._emit(f"{'supervisor':<{self._width}} | {text}")


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # already gone


def _print(line: str) -> None:
    print(line, file=sys.stdout, flush=True)
