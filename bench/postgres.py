"""A private PostgreSQL server for one benchmark run.

The machine's shared server allows 100 connections, and the product's five processes may hold
up to 50 between them (``services/kit/db.py``): next to other engineers' test networks the
benchmark would fail with "too many clients", or make their tests fail. So the benchmark starts
its own server (same binaries and defaults, its own port, 200 connections) in a temporary
directory and removes it afterwards. ``BENCH_POSTGRES_URL`` points it at an existing server
instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

MAX_CONNECTIONS = 200


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """``with PrivatePostgres() as admin_url: ...`` — a trust-auth server on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        bindir = _bindir()
        if bindir is None:
            raise RuntimeError("initdb not found: install postgresql or set BENCH_POSTGRES_URL")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="rn-bench-pg-"))
        self.data = self.dir / "data"
        self.port = port
        # PostgreSQL refuses to run as root: run it as the postgres user then.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, text=True)

    def __enter__(self) -> str:
        if self.prefix:
            shutil.chown(self.dir, "postgres", "postgres")
        try:
            self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "--no-sync", "-E", "UTF8")
            # pg_stat_statements lets the profile count statements per referral.
            options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                       f"-c max_connections={MAX_CONNECTIONS} "
                       "-c shared_preload_libraries=pg_stat_statements")
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                      "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as error:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"private PostgreSQL did not start: {error.stderr}") from None
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pid(self) -> int:
        """The postmaster's pid: its process tree is the whole server."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def __exit__(self, *_exc) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
