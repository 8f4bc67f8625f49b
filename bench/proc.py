"""What the kernel says about a process tree: resident memory and CPU time, from /proc.

psutil is not a dependency of the product; these two readings are all the benchmarks need.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all of its descendants that are still alive."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _kb(pid: int, file: str, field: str) -> int:
    """The ``field:`` line of /proc/<pid>/<file>, in kB; 0 for a gone process."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants in MB (VmRSS); 0 for a gone process.
    A page shared with other processes (a shared library's code) counts in full in each."""
    return sum(_kb(member, "status", "VmRSS:") for member in tree(pid)) / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size of ``pid`` and its descendants in MB (Pss of smaps_rollup): a page
    that n processes share counts 1/n in each, so the sum over processes is the memory they use
    together. 0 for a gone process."""
    return sum(_kb(member, "smaps_rollup", "Pss:") for member in tree(pid)) / 1024


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU seconds used so far by ``pid`` and, with ``children``, by its
    descendants: the live ones, and the ones that exited and were waited for (a database
    server's backends come and go)."""
    total = 0
    for member in tree(pid) if children else [pid]:
        fields = _stat(member)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
            if children:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime: exited children
    return total / _TICKS


def pids_of(command_part: str) -> list[int]:
    """Processes whose command line contains ``command_part`` (e.g. the broker's or database's
    server), for CPU accounting of processes the benchmark did not start."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if command_part in cmdline:
            found.append(int(entry.name))
    return found


def cpu_snapshot(named: dict[str, int], database_tag: str | None = None) -> dict[str, float]:
    """CPU seconds so far of each named process tree, of this process alone (the load
    generator, event tap and webhook receiver), of the PostgreSQL backends serving databases
    whose name contains ``database_tag``, and of the RabbitMQ node (shared with anyone else
    using the broker, so an upper bound)."""
    snapshot = {name: cpu_seconds(pid) for name, pid in named.items()}
    snapshot["bench client"] = cpu_seconds(os.getpid(), children=False)
    if database_tag:
        snapshot["postgresql"] = sum(cpu_seconds(p, False) for p in pids_of(f" {database_tag}"))
    snapshot["rabbitmq"] = sum(cpu_seconds(p) for p in pids_of("beam.smp"))
    return snapshot
