"""A TCP proxy a test can cut or freeze: a server "goes away" for the processes behind it, and only
for them.

The shared RabbitMQ and PostgreSQL are never stopped. Processes are given the proxy's address
instead of the server's; ``cut()`` resets every connection through it and refuses new ones (as a
stopped broker does), ``restore()`` lets connections through again; ``freeze()`` keeps every
connection open but carries no byte either way (as a stalled database does, new connections
included) until ``thaw()``.

The proxy runs as its own process (``python -m tests.harness.proxy <port>``, commands on stdin),
with plain threads: inside a test process, eventlet would share the proxy's sockets' file
descriptors with the code under test. ``tcp_proxy`` starts one and drives it.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttableProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target`` until cut; runs in background threads."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closing = False
        self.connections_made = 0
        threading.Thread(target=self._accept, name="proxy accept", daemon=True).start()

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until ``restore``."""
        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def restore(self) -> None:
        self._open.set()

    def freeze(self) -> None:
        """Hold every byte in both directions, on open and new connections, until ``thaw``."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closing = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                _reset(client)  # like a broker whose port is closed
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
                self.connections_made += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink, self._flowing), name="proxy pump",
                                 daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket, flowing: threading.Event) -> None:
    try:
        while data := source.recv(65536):
            flowing.wait()
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _reset(sink)
        _reset(source)


def _reset(sock: socket.socket) -> None:
    """Drop the connection so that its peer sees it at once.

    ``shutdown`` first: a pump thread blocked in ``recv`` on this socket keeps the connection
    open through a bare ``close`` (the kernel releases it only when that ``recv`` returns), so an
    idle peer would see nothing until it next sent a byte. With SO_LINGER 0 the close that
    follows is a reset rather than a clean one.
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class ProxyProcess:
    """Drives a ``CuttableProxy`` running in a child process."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.proxy", host, str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.port = int(self._process.stdout.readline())

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _command(self, word: str) -> str:
        self._process.stdin.write(word + "\n")
        self._process.stdin.flush()
        return self._process.stdout.readline().strip()

    def cut(self) -> None:
        self._command("cut")

    def restore(self) -> None:
        self._command("restore")

    def freeze(self) -> None:
        self._command("freeze")

    def thaw(self) -> None:
        self._command("thaw")

    @property
    def connections_made(self) -> int:
        return int(self._command("count"))

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)


@contextmanager
def tcp_proxy(port: int, host: str = "127.0.0.1") -> Iterator[ProxyProcess]:
    """A proxy process to ``host:port`` for the block's duration."""
    proxy = ProxyProcess(port, host)
    try:
        yield proxy
    finally:
        proxy.close()


def main(host: str, port: str) -> None:
    proxy = CuttableProxy((host, int(port)))
    print(proxy.port, flush=True)
    actions = {"cut": proxy.cut, "restore": proxy.restore, "freeze": proxy.freeze, "thaw": proxy.thaw,
               "count": lambda: proxy.connections_made}
    for line in sys.stdin:  # until the test closes our stdin
        answer = actions[line.strip()]()
        print("ok" if answer is None else answer, flush=True)
    proxy.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
