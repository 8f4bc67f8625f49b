"""What a service's process loads to start. A module only some work needs is imported by the
first piece of work that needs it, so it costs no memory in a process that never does that work:
OR-tools until matching's batch solve has referrals to place, cryptography in the processes
that seal no field (matching, outcomes). The tests of that work import them
(tests/unit/matching/test_matching_solver.py, tests/unit/kit/test_field_encryption.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from network.processes import PROCESSES, ROOT, environment_of

# Top-level packages a process must not hold once started (before any work).
NOT_AT_START = {
    "consent": set(), "referrals": set(), "notifications": set(), "engagement": set(),
    "matching": {"ortools", "cryptography"},
    "outcomes": {"cryptography"},
    "gateway": set(),
}
# As ``nameko run`` starts it: the world patched, then the service's module imported.
PROBE = """
import eventlet
eventlet.monkey_patch()
import importlib, sys
importlib.import_module(sys.argv[1])
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def started_with(name: str) -> set[str]:
    """Top-level packages loaded in process ``name`` as launched, its own settings applied."""
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", PROBE, PROCESSES[name][1]],
                          cwd=ROOT, env=environment_of(name, os.environ), capture_output=True,
                          text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize("name", PROCESSES)
def test_a_started_process_has_not_loaded_what_only_later_work_needs(name):
    assert set(NOT_AT_START) == set(PROCESSES)
    loaded = started_with(name)
    assert not loaded & NOT_AT_START[name]


def test_the_work_that_needs_them_loads_them():
    """The solver and a key ring import what their process did not load to start."""
    probe = ("import sys\n"
             "from services.matching.domain import solver\n"
             "from services.kit import crypto\n"
             "before = {'ortools', 'cryptography'} & {m.split('.')[0] for m in sys.modules}\n"
             "import numpy as np\n"
             "pairs = solver.CandidatePairs(np.array([0], np.int32), np.array([0], np.int32),"
             " np.array([0.5]))\n"
             "assert list(solver.assign_optimal(pairs, np.array([1]), 1)) == [0]\n"
             "ring = crypto.KeyRing.from_config('k1:' + crypto.generate_key())\n"
             "ref = crypto.FieldRef('t', 'c', 'r')\n"
             "assert ring.decrypt(ring.encrypt('x', ref), ref) == 'x'\n"
             "after = {'ortools', 'cryptography'} & {m.split('.')[0] for m in sys.modules}\n"
             "print(sorted(before), sorted(after))\n")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["[]", "['cryptography',", "'ortools']"]
