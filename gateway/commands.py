"""``referral-network agency create``: the network operator and its key, from the command line.

The first agency of a network is its operator (``--kind operator --role operator``): it may run
before the network has ever started, so it writes only the gateway's database, and it is the one
agency whose admission is not in the ledger (every later one is admitted through
``POST /v1/agencies``, which ledgers it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from gateway.adapters.stores import create_agency
from gateway.auth import pepper_from_setting
from gateway.policy import roles_unfit_for_kind
from services.kit import migrations
from services.kit.config import load_config
from services.kit.db import make_engine
from services.kit.vocabulary import CALLER_KINDS, ROLES

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``referral-network agency create`` to the command line."""
    parser = sub.add_parser("agency", help="manage agencies and their API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="register an agency and print its API key once")
    create.add_argument("--name", required=True)
    create.add_argument("--kind", required=True, choices=CALLER_KINDS)
    create.add_argument("--role", action="append", dest="roles", required=True, choices=ROLES)
    create.add_argument("--config", default=str(DEFAULT_CONFIG), help="the gateway's config file")
    create.set_defaults(handler=create_agency_command)


def create_agency_command(args: argparse.Namespace) -> int:
    unfit = roles_unfit_for_kind(args.roles, args.kind)
    if unfit:
        raise SystemExit(f"a {args.kind} agency cannot have the role(s): {', '.join(unfit)}")
    config = load_config(args.config)
    pepper = pepper_from_setting(config.get("API_KEY_PEPPER"))
    # The first admin agency may come before the network has ever started: bring the gateway's
    # database to its head revision (a no-op when it is there already).
    migrations.upgrade("gateway", config["DATABASE_URL"])
    engine = make_engine(config["DATABASE_URL"])
    try:
        with sessionmaker(engine)() as session:
            agency, api_key = create_agency(session, pepper, name=args.name, kind=args.kind,
                                            roles=args.roles)
            session.commit()
    finally:
        engine.dispose()
    print(json.dumps({"id": agency["id"], "name": agency["name"], "kind": agency["kind"],
                      "roles": agency["roles"], "api_key": api_key}))
    return 0
