"""``free_port`` answers a port that binds, below the kernel's range of ephemeral ports (which
outgoing connections take their local ports from), and never one that is listened on."""

from __future__ import annotations

import socket

from network import processes


def test_a_free_port_binds_and_lies_below_the_ephemeral_range():
    low = processes._ephemeral_ports_start()
    for _ in range(20):
        port = processes.free_port()
        assert 1024 <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_not_answered(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with socket.socket() as other:
            other.bind(("127.0.0.1", 0))
            idle = other.getsockname()[1]  # free again once closed
        picks = iter([busy, idle])
        monkeypatch.setattr(processes.random, "randint", lambda _a, _b: next(picks))
        assert processes.free_port() == idle
