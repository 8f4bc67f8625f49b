"""Give each process of the network its own broker user, with only the permissions it needs.

    python deploy/broker_users.py --api http://rabbitmq:15672 --vhost /

The table is ``deploy/broker/permissions.json``: per service, its user and the regexes of the
queues and exchanges it may configure, write and read, and of the routing keys it may publish
to the RPC exchange (a topic permission), so only referrals may send ``consent.disclose``,
``consent.authorize`` and ``consent.record_access``. Consent checks the same from the other side
(``RPC_CALLER_USERS``, services/kit/rpc.py). Applied through the RabbitMQ management API with
``RABBITMQ_ADMIN_USER`` and ``RABBITMQ_ADMIN_PASSWORD``; each user's password comes from
``<SERVICE>_BROKER_PASSWORD`` (e.g. ``CONSENT_BROKER_PASSWORD``). Running it again updates the
users in place. Exits 1, naming the variable, when a password is missing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

TABLE = Path(__file__).resolve().parent / "broker" / "permissions.json"


def load_table(path: Path = TABLE) -> dict[str, Any]:
    """The permission table: ``{"rpc_exchange", "services": {service: {user, configure, write,
    read, rpc_routing_keys}}}``."""
    return json.loads(path.read_text())


def apply(api: str, admin: tuple[str, str], vhost: str, passwords: Mapping[str, str], *,
          users: Mapping[str, str] | None = None, table: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Create or update every service's user on ``vhost`` with its permissions; ``{service: user}``.

    ``users`` renames users (tests run beside others on one broker); the permissions are the
    table's. Raises ``urllib.error.HTTPError`` when the broker refuses a change.
    """
    table = table or load_table()
    applied = {}
    for service, rules in table["services"].items():
        user = (users or {}).get(service, rules["user"])
        _put(api, admin, f"users/{quote(user, safe='')}", {"password": passwords[service], "tags": ""})
        where = f"{quote(vhost, safe='')}/{quote(user, safe='')}"
        _put(api, admin, f"permissions/{where}",
             {"configure": rules["configure"], "write": rules["write"], "read": rules["read"]})
        _put(api, admin, f"topic-permissions/{where}",
             {"exchange": table["rpc_exchange"], "write": rules["rpc_routing_keys"], "read": ".*"})
        applied[service] = user
    return applied


def _put(api: str, admin: tuple[str, str], path: str, body: Mapping[str, Any]) -> None:
    request = urllib.request.Request(
        f"{api.rstrip('/')}/api/{path}", data=json.dumps(body).encode(), method="PUT",
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + base64.b64encode(":".join(admin).encode()).decode()})
    with urllib.request.urlopen(request, timeout=30):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=os.environ.get("RABBITMQ_API", "http://rabbitmq:15672"))
    parser.add_argument("--vhost", default=os.environ.get("RABBITMQ_VHOST", "/"))
    args = parser.parse_args(argv)
    table = load_table()
    passwords, missing = {}, []
    for service in table["services"]:
        name = f"{service.upper()}_BROKER_PASSWORD"
        passwords[service] = os.environ.get(name, "")
        if not passwords[service]:
            missing.append(name)
    admin = (os.environ.get("RABBITMQ_ADMIN_USER", ""), os.environ.get("RABBITMQ_ADMIN_PASSWORD", ""))
    if not all(admin):
        missing.append("RABBITMQ_ADMIN_USER/RABBITMQ_ADMIN_PASSWORD")
    if missing:
        print(f"missing: {', '.join(missing)}", file=sys.stderr)
        return 1
    for service, user in apply(args.api, admin, args.vhost, passwords, table=table).items():
        print(f"{service}: {user}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
