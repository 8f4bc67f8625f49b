"""Bare pipeline baseline: the product's topology with handlers that do nothing.

Four ``nameko run`` processes from ``bench/bare_services.py`` (gateway, intake, matcher,
notifier) driven by the same load and measured the same way as the product (``bench/steps``):
the framework's ceiling on this machine, against which the product's rate is a ratio.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from kombu import Exchange

from bench import proc, steps, workload
from bench.context import BenchContext
from bench.events import EventTap, WebhookReceiver
from bench.load import HttpTarget, Request
from network.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"bare_gateway": ("BareGateway", 20), "bare_intake": ("BareIntake", 10),
            "bare_matcher": ("BareMatcher", 10), "bare_notifier": ("BareNotifier", 10)}
# nameko's event exchange for the matcher's events, declared as nameko declares it.
PROPOSED = Exchange("bare_matcher.events", type="topic", durable=True)


def start(context: BenchContext, port: int, webhook_url: str) -> dict[str, subprocess.Popen]:
    """The four bare processes, each a ``nameko run`` with the product's worker counts."""
    running = {}
    for name, (cls, workers) in SERVICES.items():
        env = {**os.environ, "AMQP_URI": context.amqp_uri, "BARE_GATEWAY_PORT": str(port),
               "BARE_WEBHOOK_URL": webhook_url, "BARE_MAX_WORKERS": str(workers),
               "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        log = open(context.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        running[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "nameko"), "run", "--config", "bench/bare.yml",
             f"bench.bare_services:{cls}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return running


def stop(running: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each process group, SIGKILL to any that does not stop within 20 s."""
    for process in running.values():
        os.killpg(process.pid, signal.SIGTERM)
    for process in running.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _request(i: int) -> Request:
    body = {"participant_id": str(uuid.uuid4()), "reason": "peer support", "n": i}
    return Request("POST", "/v1/referrals", json.dumps(body).encode(),
                   {"Idempotency-Key": str(uuid.uuid4())})


def _wait_ready(pipe: steps.Pipeline, running: dict[str, subprocess.Popen], timeout: float = 60) -> None:
    """Until one referral goes all the way through: every consumer's queue is bound by then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in running.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up")
        try:
            status, body = pipe.target.send(_request(0))
        except OSError:
            time.sleep(0.3)
            continue
        if status == 201 and not pipe.notified.wait_for([json.loads(body)["id"]], 2.0):
            return
        time.sleep(0.3)
    raise RuntimeError("the bare pipeline did not carry a referral through within a minute")


def run(smoke: bool, context: BenchContext | None = None) -> dict:
    """Stepped rates and flat out through the bare pipeline, and its processes' idle memory."""
    if context is None:
        with BenchContext(smoke) as own:
            return run(smoke, own)
    plan = workload.plan(smoke)
    port = free_port()
    receiver = WebhookReceiver(workload.referral_of_webhook).start()
    tap = EventTap(context.amqp_uri, PROPOSED, ["proposed"], workload.referral_of_event).start()
    running = start(context, port, receiver.url + "/hooks")
    try:
        pids = {name: p.pid for name, p in running.items()}
        pipe = steps.Pipeline(HttpTarget("127.0.0.1", port), _request, tap.arrivals, receiver.arrivals,
                              plan["drain_seconds"], cpu=lambda: context.cpu(pids))
        _wait_ready(pipe, running)
        time.sleep(1.0)
        idle = {name: proc.rss_mb(p.pid) for name, p in running.items()}
        idle_pss = {name: proc.pss_mb(p.pid) for name, p in running.items()}
        warm = steps.warm_up(pipe)
        stepped = steps.stepped(pipe, plan["rates"], plan["seconds"], plan["repeats"])
        flat = steps.flat_out(pipe, plan["clients"], plan["flat_seconds"], plan["repeats"])
    except Exception:
        context.failed = True
        raise
    finally:
        stop(running)
        tap.stop()
        receiver.stop()
    context.shared["bare_pipeline"] = {"flat_out": flat, "steps": stepped, "idle_rss_mb": idle}
    return {"plan": dict(plan), "warm_up": warm, "steps": stepped,
            "flat_out": flat, "idle_rss_mb": idle, "idle_pss_mb": idle_pss}
