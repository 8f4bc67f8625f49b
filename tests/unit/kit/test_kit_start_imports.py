"""What a service's process loads to start. A module only some work needs is imported by the
first piece of work that needs it, so it costs no memory in a process that never does that work:
OR-tools until matching's batch solve has referrals to place, cryptography in the processes
that seal no field (matching, outcomes), requests in the gateway until a SMART client's key set
is fetched by URL and in engagement until its first text. The tests of that work run it
(tests/unit/matching/test_matching_solver.py, tests/unit/kit/test_field_encryption.py,
tests/integration/gateway/test_gateway_smart.py, tests/unit/notifications/test_notifications_sms.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from network.processes import PROCESSES, ROOT, environment_of

# Top-level packages a process must not hold once started (before any work). dnspython ("dns")
# is eventlet's green resolver, which no process uses (services/kit/resolver.py).
NOT_AT_START = {
    "consent": {"dns"}, "referrals": {"dns"}, "notifications": {"dns"},
    "matching": {"dns", "ortools", "cryptography"},
    "outcomes": {"dns", "cryptography"},
    "engagement": {"dns", "requests", "urllib3"},
    "gateway": {"dns", "requests", "urllib3"},
}
# As ``nameko run`` starts it: the world patched, then the service's module imported.
PROBE = """
import eventlet
eventlet.monkey_patch()
import importlib, sys
importlib.import_module(sys.argv[1])
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""
# The work that needs each: run in a fresh interpreter, it must load the package.
WORK = {
    "ortools": "import numpy as np\n"
               "from services.matching.domain import solver\n"
               "pairs = solver.CandidatePairs(np.array([0], np.int32), np.array([0], np.int32),"
               " np.array([0.5]))\n"
               "assert list(solver.assign_optimal(pairs, np.array([1]), 1)) == [0]\n",
    "cryptography": "from services.kit import crypto\n"
                    "ring = crypto.KeyRing.from_config('k1:' + crypto.generate_key())\n"
                    "ref = crypto.FieldRef('t', 'c', 'r')\n"
                    "assert ring.decrypt(ring.encrypt('x', ref), ref) == 'x'\n",
    "requests": "from gateway.adapters.jwks import JwksCache, JwksUnavailable\n"
                "try:\n"
                "    JwksCache(allow_loopback=True).key_set('http://127.0.0.1:9/jwks.json', 'k1')\n"
                "except JwksUnavailable:\n"
                "    pass\n",
    "requests (SMS)": "from services.notifications.adapters.sms import TwilioSettings, TwilioSmsSender\n"
                      "sender = TwilioSmsSender(TwilioSettings('AC1', 'token', '+15550000000',"
                      " base_url='http://127.0.0.1:9'))\n"
                      "assert not sender.send('+15550000001', 'hello').ok\n",
}


def started_with(name: str) -> set[str]:
    """Top-level packages loaded in process ``name`` as launched, its own settings applied."""
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", PROBE, PROCESSES[name][1]],
                          cwd=ROOT, env=environment_of(os.environ), capture_output=True,
                          text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize("name", PROCESSES)
def test_a_started_process_has_not_loaded_what_only_later_work_needs(name):
    assert set(NOT_AT_START) == set(PROCESSES)
    loaded = started_with(name)
    assert not loaded & NOT_AT_START[name]


@pytest.mark.parametrize("package", sorted(WORK))
def test_the_work_that_needs_a_package_loads_it(package):
    module = package.split()[0]
    probe = ("import sys\n"
             f"assert {module!r} not in sys.modules\n"
             f"{WORK[package]}"
             f"assert {module!r} in sys.modules\n")
    subprocess.run([sys.executable, "-W", "ignore", "-c", probe], cwd=ROOT, check=True)
