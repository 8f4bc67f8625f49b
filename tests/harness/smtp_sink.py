"""A real SMTP server in a process of its own that keeps every message it accepts as a file.

The end-to-end network sends participants' check-in emails here for a whole test session. An
aiosmtpd server inside the test process would keep an asyncio loop running on the test's own
thread for that long (eventlet makes its threads green), and every later test that starts an
SMTP server of its own would find "another loop is running". In its own process it holds nothing
of the tests'.

    python -m tests.harness.smtp_sink FOLDER     # prints the port it listens on, then serves
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from email import message_from_bytes, policy
from pathlib import Path

from tests.unit.notifications.notification_servers import LocalController


class Keep:
    """An aiosmtpd handler that writes each message to FOLDER/<n>.eml, whole or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        partial = self.folder / f".{uuid.uuid4().hex}"
        partial.write_bytes(envelope.content)
        partial.rename(self.folder / f"{self.count:06d}.eml")
        return "250 Message accepted"


class SmtpSink:
    """The server process, seen from the tests: ``port``, ``mails`` (parsed, in arrival order)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> SmtpSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.smtp_sink", str(self.folder)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            cwd=Path(__file__).resolve().parents[2])
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the SMTP sink did not start (it said {line!r})")
        self.port = int(line)
        return self

    @property
    def mails(self) -> list:
        return [message_from_bytes(path.read_bytes(), policy=policy.default)
                for path in sorted(self.folder.glob("*.eml"))]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def main() -> None:
    controller = LocalController(Keep(Path(sys.argv[1])), hostname="127.0.0.1")
    controller.start()
    print(controller.port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
