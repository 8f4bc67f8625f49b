"""`make run` as a newcomer meets it: start, seed, walk one referral, stop; then again on the same data.

The demo tests share one var/ directory and its first SQLite run (``first_run``); each later run
starts the network again, as a newcomer would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from network.processes import PROCESSES, ROOT, free_port
from tests.support import wait_for

pytestmark = pytest.mark.e2e
STEPS = [f"{n}. " for n in range(1, 10)]


def _isolated_env(request, rabbit_manager, tmp_path):
    """An environment of its own for `make run`: a fresh vhost and var/ directory (the vhost is
    deleted when the generator ends)."""
    amqp = request.config.getoption("RABBIT_AMQP_URI")
    vhost = f"rn_run_{uuid.uuid4().hex[:10]}"
    rabbit_manager.create_vhost(vhost)
    rabbit_manager.set_vhost_permissions(vhost, urlsplit(amqp).username, ".*", ".*", ".*")
    parts = urlsplit(amqp)
    env = {**os.environ, "AMQP_URI": urlunsplit((parts.scheme, parts.netloc, f"/{vhost}", "", "")),
           "REFERRAL_NETWORK_VAR": str(tmp_path / "var")}
    for name in ("FIELD_ENCRYPTION_KEYS", "LEDGER_HMAC_KEY", "LEDGER_SIGNING_KEY", "API_KEY_PEPPER",
                 "GATEWAY_FIELD_ENCRYPTION_KEYS"):
        env.pop(name, None)  # make run generates its own development secrets
    yield env, tmp_path / "var"
    rabbit_manager.delete_vhost(vhost)


@pytest.fixture
def isolated_env(request, rabbit_manager, tmp_path):
    yield from _isolated_env(request, rabbit_manager, tmp_path)


@pytest.fixture(scope="module")
def demo_env(request, rabbit_manager, tmp_path_factory):
    """One var/ directory the demo tests share: its first SQLite run is ``first_run``."""
    yield from _isolated_env(request, rabbit_manager, tmp_path_factory.mktemp("make-run"))


@pytest.fixture(scope="module")
def first_run(demo_env) -> str:
    """What the first `make run` on an empty var/ printed (SQLite): it seeded the demo network."""
    env, _ = demo_env
    return run_network(env)


def run_network(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "network.run", "--exit-after-demo", "--port", str(free_port()), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_make_run_demonstrates_the_loop_and_a_second_run_reuses_the_data(demo_env, first_run):
    env, var = demo_env
    first = first_run
    assert all(step in first for step in STEPS), first[-2000:]
    assert "'ok': True" in first  # the network operator verified the ledger
    assert "20 mentors (5 trainee, 10 certified, 5 senior, each with a supervisor)" in first
    assert "mentor supervised by " in first and "-lead-" in first  # the proposed mentor's place
    credentials = json.loads((var / "demo-credentials.json").read_text())
    kinds = sorted(a["kind"] for a in credentials["agencies"])
    assert kinds == ["hospital", "operator", "peer_group", "peer_group", "sober_living"]
    assert all({"id", "name", "kind", "roles", "api_key"} <= set(a) for a in credentials["agencies"])
    assert oct((var / "secrets.env").stat().st_mode)[-3:] == "600"
    # The console's address, and demo staff whose current sign-in code the command prints.
    assert "/console/" in first
    assert {"referrer@stmary.demo", "admin@stmary.demo", "coordinator@bridge.demo"} <= {
        person["email"] for person in credentials["people"]}
    code = subprocess.run([sys.executable, "-m", "services.kit.cli", "demo-code", "coordinator@bridge.demo"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert code[:6].isdigit() and code[6] == " "

    second = run_network(env)
    assert "Reusing the demo network" in second
    assert all(step in second for step in STEPS), second[-2000:]


@pytest.fixture
def database_prefix(request, demo_env):
    """A DATABASE_PREFIX of this test's own, its databases dropped afterwards."""
    env, _ = demo_env
    prefix = f"rn_run_{uuid.uuid4().hex[:8]}_"
    env["DATABASE_PREFIX"] = prefix
    admin = request.config.getoption("--postgres-url")
    env["POSTGRES_ADMIN_URL"] = admin
    yield prefix
    del env["DATABASE_PREFIX"], env["POSTGRES_ADMIN_URL"]
    with psycopg.connect(admin, autocommit=True) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                                 (prefix.replace("_", r"\_") + "%",))]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_make_run_on_postgres_after_sqlite_has_its_own_demo_keys_and_databases(demo_env, first_run,
                                                                                  database_prefix):
    env, var = demo_env  # SQLite's demo network seeded by ``first_run``
    sqlite_keys = json.loads((var / "demo-credentials.json").read_text())
    # Keys from another database (as an older layout shared them): refused, set aside, seeded again.
    (var / "demo-credentials.postgres.json").write_text(json.dumps(sqlite_keys))

    on_postgres = run_network(env, "--database", "postgres")
    assert "do not open this network" in on_postgres and "Seeded 5 agencies" in on_postgres
    assert all(step in on_postgres for step in STEPS), on_postgres[-2000:]
    postgres_keys = json.loads((var / "demo-credentials.postgres.json").read_text())
    assert {a["api_key"] for a in postgres_keys["agencies"]}.isdisjoint(
        a["api_key"] for a in sqlite_keys["agencies"])
    assert json.loads((var / "demo-credentials.json").read_text()) == sqlite_keys
    with psycopg.connect(env["POSTGRES_ADMIN_URL"]) as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert {f"{database_prefix}{s}" for s in ("consent", "referrals", "matching", "notifications",
                                              "engagement", "outcomes", "gateway")} <= names

    again = run_network(env, "--database", "postgres")
    assert "Reusing the demo network" in again


@pytest.mark.fault
def test_make_run_restarts_a_killed_process_and_keeps_the_network_serving(isolated_env):
    env, _ = isolated_env
    port = free_port()
    run = subprocess.Popen([sys.executable, "-m", "network.run", "--no-demo", "--port", str(port)],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(run.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("The network is running" in line for line in lines), timeout=240,
                 what="make run to be up")
        consent = child_running(run.pid, "services.consent.service")
        os.kill(consent, signal.SIGKILL)
        wait_for(lambda: any("consent exited with code -9" in line for line in lines), what="a logged crash")
        wait_for(lambda: any("consent started again" in line for line in lines), what="the restart")
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200,
                 timeout=90, interval=1, what="the network ready again")
        assert child_running(run.pid, "services.consent.service") != consent
        assert run.poll() is None  # one crash never stops the network
        supervised = child_processes(run.pid)
        assert len(supervised) == len(PROCESSES), supervised  # every service and the gateway
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        assert run.wait(timeout=60) == 0
    reader.join(timeout=10)
    for pid in supervised:  # stopping make run stops every process it supervised
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def child_processes(parent: int) -> dict[int, str]:
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(parent)],  # -ww: whole lines
                         capture_output=True, text=True)
    return {int(pid): args for pid, args in (line.strip().split(" ", 1) for line in out.stdout.splitlines())}


def child_running(parent: int, module: str) -> int:
    (pid,) = [pid for pid, args in child_processes(parent).items() if args.endswith(module)]
    return pid
