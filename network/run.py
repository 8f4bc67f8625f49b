"""`make run`: migrate, start the four services and the gateway, seed a demo network, walk one referral.

    python -m network.run [--database sqlite|postgres] [--port 8000] [--no-demo]

Processes run under ``network.supervisor``: one that exits is started again (with backoff, each
restart logged), so one crash never stops the network; Ctrl-C stops them all. Data lives in var/
(SQLite files, or databases <DATABASE_PREFIX><service>, rn_<service> by default, on the
local PostgreSQL), so a second run finds the same agencies, mentors and referrals. The demo
keys are kept per database backend (var/demo-credentials.json for SQLite,
var/demo-credentials.postgres.json for PostgreSQL): each belongs to its own gateway database.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from network import demo, secrets
from network.processes import PROCESSES, command, environment_of
from network.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
# Where SQLite files, development secrets and demo credentials live (tests point it elsewhere).
VAR = Path(os.environ.get("REFERRAL_NETWORK_VAR", ROOT / "var"))
SERVICES = ("consent", "referrals", "matching", "notifications", "engagement", "outcomes", "gateway")
# Two networks can share one PostgreSQL server under different prefixes.
DATABASE_PREFIX = os.environ.get("DATABASE_PREFIX", "rn_")


def credentials_file(kind: str) -> Path:
    """The demo network's keys for the ``kind`` database backend (they live in its gateway database)."""
    return VAR / ("demo-credentials.json" if kind == "sqlite" else f"demo-credentials.{kind}.json")


def checkpoint_log(kind: str) -> Path:
    """The checkpoint log of the ``kind`` backend's consent database (each has its own ledger)."""
    return VAR / ("ledger-checkpoints.jsonl" if kind == "sqlite"
                  else f"ledger-checkpoints.{DATABASE_PREFIX}{kind}.jsonl")


def database_urls(kind: str) -> dict[str, str]:
    if kind == "sqlite":
        return {f"{s.upper()}_DATABASE_URL": f"sqlite:///{VAR / f'{s}.db'}" for s in SERVICES}
    import psycopg

    admin = os.environ.get("POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for service in SERVICES:
            if f"{DATABASE_PREFIX}{service}" not in existing:
                conn.execute(f'CREATE DATABASE "{DATABASE_PREFIX}{service}"')
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return {f"{s.upper()}_DATABASE_URL": f"{base}/{DATABASE_PREFIX}{s}" for s in SERVICES}


def environment(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(secrets.load_or_create(VAR / "secrets.env"))
    env.update(database_urls(args.database))
    # The ledger's checkpoints outside its database, one log per consent database.
    env.setdefault("LEDGER_CHECKPOINT_LOG", str(checkpoint_log(args.database)))
    env["GATEWAY_PORT"] = str(args.port)
    # A local network: agencies may point webhooks at receivers on this machine.
    env.setdefault("WEBHOOK_REQUIRE_HTTPS", "false")
    env.setdefault("WEBHOOK_ALLOW_PRIVATE_HOSTS", "true")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until_ready(base_url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ready = requests.get(f"{base_url}/ready", timeout=3)
            if ready.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the network was not ready within {timeout:.0f} s ({base_url}/ready)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if not DATABASE_PREFIX.replace("_", "").isalnum():
        raise SystemExit(f"DATABASE_PREFIX must be letters, digits and underscores, not {DATABASE_PREFIX!r}")
    parser.add_argument("--database", choices=("sqlite", "postgres"),
                        default=os.environ.get("DATABASE", "sqlite"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", 8000)))
    parser.add_argument("--no-demo", action="store_true", help="start and seed, but walk no referral")
    parser.add_argument("--exit-after-demo", action="store_true", help="stop once the demo is done")
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    if port_in_use(args.port):
        raise SystemExit(f"port {args.port} is in use (another `make run`?); stop it or pass --port")
    env = environment(args)
    base_url = f"http://127.0.0.1:{args.port}"
    # SIGTERM must stop the processes too, not only Ctrl-C: they run in their own session.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    # The broker's topology, and each database to its head schema revision (a service refuses to
    # start on any other): both before any process starts, side by side since neither needs the other.
    prepare = [subprocess.Popen([sys.executable, "-m", "services.kit.cli", step], env=env, cwd=ROOT)
               for step in ("topology", "migrate")]
    for step, process in zip(("topology", "migrate"), prepare, strict=True):
        if process.wait() != 0:
            raise SystemExit(f"`referral-network {step}` failed (exit code {process.returncode})")
    print(f"Starting the network ({args.database}) …", flush=True)
    supervisor = Supervisor({name: command(name) for name in PROCESSES}, env=environment_of(env),
                            cwd=ROOT)
    supervisor.start()
    try:
        wait_until_ready(base_url)
        credentials = demo.seed(base_url, credentials_file(args.database), env)
        if not args.no_demo:
            demo.walk(base_url, credentials)
        print(f"\nThe network is running at {base_url}  (credentials: {credentials_file(args.database)})")
        print(f"The console is at {base_url}/console/  (demo staff sign in with the password "
              f"'{demo.DEMO_PASSWORD}' and the code `.venv/bin/referral-network demo-code EMAIL` prints; "
              "see README)")
        print(f"  curl {base_url}/ready\n  curl {base_url}/openapi.json\nCtrl-C stops everything.")
        if args.exit_after_demo:
            return 0
        signal.pause()  # until Ctrl-C or SIGTERM; crashed processes are restarted meanwhile
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        supervisor.stop()


if __name__ == "__main__":
    sys.exit(main())


