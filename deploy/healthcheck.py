"""Container health checks for the Recovery Referral Network image.

    python deploy/healthcheck.py broker     # a service: can this container reach RabbitMQ?
    python deploy/healthcheck.py gateway    # the gateway: does GET /health answer 200?

Exit status 0 means healthy, 1 unhealthy. The services have no HTTP port, so
their check opens (and closes) one AMQP connection with the container's own
``AMQP_URI``. docker-compose and the Kubernetes manifests call this file and
nothing else, so swapping it for ``referral-network ping <service>`` is a
change in one place.
"""

from __future__ import annotations

import os
import sys
import urllib.request

TIMEOUT_SECONDS = 5.0


def broker_reachable() -> bool:
    from kombu import Connection

    uri = os.environ.get("AMQP_URI")
    if not uri:
        print("AMQP_URI is not set", file=sys.stderr)
        return False
    try:
        with Connection(uri, connect_timeout=TIMEOUT_SECONDS) as conn:
            conn.connect()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        print(f"broker unreachable: {type(exc).__name__}", file=sys.stderr)
        return False


def gateway_healthy() -> bool:
    url = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}/health"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.status == 200
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        print(f"gateway not healthy: {exc}", file=sys.stderr)
        return False


CHECKS = {"broker": broker_reachable, "gateway": gateway_healthy}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in CHECKS:
        print(f"usage: healthcheck.py {{{'|'.join(CHECKS)}}}", file=sys.stderr)
        return 2
    return 0 if CHECKS[argv[0]]() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
