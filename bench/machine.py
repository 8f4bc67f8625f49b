"""What the figures were measured on: date, machine, versions, and how busy the machine was."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def _rabbitmq(api: str) -> str:
    try:
        return requests.get(f"{api}/api/overview", timeout=5).json()["rabbitmq_version"]
    except (requests.RequestException, ValueError, KeyError):
        return "unknown"


def _postgresql(admin_url: str) -> str:
    try:
        with psycopg.connect(admin_url, connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return "unknown"


def describe(rabbit_api: str, postgres_admin: str) -> dict:
    """Date, cores, memory, CPU model, versions, commit and the load average now."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1), "cpu_model": _cpu_model(),
        "python": platform.python_version(), "kernel": platform.release(),
        "rabbitmq": _rabbitmq(rabbit_api), "postgresql": _postgresql(postgres_admin),
        "commit": _commit(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
