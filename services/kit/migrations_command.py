"""``referral-network migrate [SERVICE]``: bring services' databases to their head revision.

With no SERVICE, every service and the gateway, one after the other. The database is the one the
service's ``config.yml`` names (``DATABASE_URL`` with its ``${VAR:default}`` substituted from the
environment), unless ``--database-url`` says otherwise. Only that value is read, so migrating needs
the database's credentials and no other secret. ``--check`` migrates nothing: it reports drift
between the models and a migrated database. Output is one JSON line per service.
"""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from services.kit import migrations
from services.kit.config import ConfigError, substitute

URL_KEY = "DATABASE_URL"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``migrate`` sub-command to the ``referral-network`` parser."""
    parser = sub.add_parser("migrate", help="bring service databases to their head schema revision")
    parser.add_argument("service", nargs="?", choices=migrations.SERVICES,
                        help="one service (default: every service and the gateway)")
    parser.add_argument("--database-url", help="this database instead of the one in the service's config")
    parser.add_argument("--config", help="the service's config file (default: its config.yml)")
    parser.add_argument("--check", action="store_true",
                        help="migrate nothing; exit 1 if the models and the migrations differ")
    parser.set_defaults(handler=migrate_command)


def migrate_command(args: argparse.Namespace) -> int:
    """Upgrade (or ``--check``) each chosen service; 1 when any of them failed or drifted."""
    services = [args.service] if args.service else list(migrations.SERVICES)
    if len(services) > 1 and (args.database_url or args.config):
        print("--database-url and --config need a SERVICE", file=sys.stderr)
        return 2
    failed = 0
    for service in services:
        url = args.database_url or database_url(service, args.config)
        try:
            outcome = _check(service, url) if args.check else _upgrade(service, url)
        except migrations.MigrationError as exc:
            outcome = {"service": service, "error": str(exc)}
        failed += "error" in outcome or bool(outcome.get("differences"))
        print(json.dumps(outcome))
    return 1 if failed else 0


def database_url(service: str, config: str | None = None) -> str:
    """The service's ``DATABASE_URL`` from its config file, environment variables substituted.

    Raises ``ConfigError`` when the file has no such value or a variable it needs is unset.
    """
    path = config or migrations.script_location(service).parent / "config.yml"
    with open(path, encoding="utf-8") as file:
        raw = (yaml.safe_load(file) or {}).get(URL_KEY)
    if not raw:
        raise ConfigError(f"{path}: no {URL_KEY}")
    return str(yaml.safe_load(substitute(str(raw))))


def _upgrade(service: str, url: str) -> dict:
    done = migrations.upgrade(service, url)
    return {"service": service, "from": done.before, "to": done.after, "adopted": done.adopted}


def _check(service: str, url: str) -> dict:
    return {"service": service, "revision": migrations.head(service),
            "differences": migrations.check(service, url)}
