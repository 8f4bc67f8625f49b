"""``referral-network keys list|create|rotate|revoke``: an agency's machine keys from a shell.

The operations of ``/v1/agencies/{id}/keys``, run on the gateway's database for whoever holds
the deployment (a first key for a clinic system, an admin key that was lost). Each change is
ledgered by the consent service first, exactly as over HTTP, so the network must be running
(``AMQP_URI``): when the consent service does not answer, nothing changes. The ledger names the
actor ``cli:<login name>``. Output is JSON; a new key's ``api_key`` is printed once.

(The field-encryption keys are re-encrypted with ``referral-network field-keys rotate``.)
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import sessionmaker

from gateway import keys
from gateway.adapters.directory import find_agency
from gateway.adapters.key_invalidations import announce
from gateway.auth import Principal, pepper_from_setting
from gateway.schemas import KEY_NAME
from services.kit.config import load_config
from services.kit.db import WriterGate, is_sqlite, make_engine, utcnow
from services.kit.errors import NetworkError
from services.kit.unit_of_work import UnitOfWork
from services.kit.vocabulary import ROLES

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``referral-network keys list|create|rotate|revoke`` to the command line."""
    parser = sub.add_parser("keys", help="an agency's machine (API) keys")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the agency's keys, never their secrets")
    create = actions.add_parser("create", help="issue a named key and print it once")
    create.add_argument("--name", required=True, type=_key_name)
    create.add_argument("--role", action="append", dest="roles", choices=ROLES,
                        help="a role the key may act in (repeatable; default: all of the agency's)")
    rotate = actions.add_parser("rotate", help="replace a key; the old one works for the overlap")
    rotate.add_argument("key_id")
    rotate.add_argument("--overlap-seconds", type=int,
                        help="default: the gateway's KEY_ROTATION_OVERLAP_SECONDS")
    revoke = actions.add_parser("revoke", help="refuse a key from its next request on")
    revoke.add_argument("key_id")
    for action in (listing, create, rotate, revoke):
        action.add_argument("--agency", required=True, help="the agency's id")
        action.add_argument("--config", default=str(DEFAULT_CONFIG), help="the gateway's config file")
        action.set_defaults(handler=keys_command)


def _key_name(value: str) -> str:
    if not re.fullmatch(KEY_NAME, value):
        raise argparse.ArgumentTypeError("1-64 letters, digits, '.', '_' or '-'")
    return value


def cli_actor() -> str:
    """``cli:<login name>``, reduced to the characters an actor label allows."""
    login = re.sub(r"[^A-Za-z0-9._-]", "-", getpass.getuser())[:64] or "unknown"
    return f"cli:{login}"


def keys_command(args: argparse.Namespace) -> int:
    """Run one key action; 0 on success, 1 when it was refused or could not be ledgered."""
    config = load_config(args.config)
    engine = make_engine(config["DATABASE_URL"])
    try:
        uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False), source="gateway",
                         gate=WriterGate(serialise=is_sqlite(config["DATABASE_URL"])))
        result = _perform(args, config, uow)
    except NetworkError as exc:
        print(f"keys {args.action}: {exc.detail}", file=sys.stderr)
        return 1
    except (RpcTimeout, UnknownService):
        print(f"keys {args.action}: the consent service did not answer, so nothing was changed "
              "(every change to a key is ledgered first)", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(result, default=lambda value: value.isoformat()))
    return 0


def _perform(args: argparse.Namespace, config: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
    with uow:
        agency = find_agency(uow.session, args.agency)
    caller = Principal(agency.id, agency.kind, frozenset(agency.roles), actor=cli_actor())
    now = utcnow()
    if args.action == "list":
        return keys.list_keys(uow, caller, agency.id, None, now)
    ledger = _ledger(config, caller)
    pepper = pepper_from_setting(config.get("API_KEY_PEPPER"))
    if args.action == "create":
        body = {"name": args.name, **({"roles": args.roles} if args.roles else {})}
        return keys.create_key(uow, pepper, ledger, caller, agency.id, body, now)
    if args.action == "rotate":
        seconds = args.overlap_seconds
        if seconds is None:
            seconds = int(config.get("KEY_ROTATION_OVERLAP_SECONDS", 24 * 3600))
        return keys.rotate_key(uow, pepper, ledger, caller, agency.id, args.key_id,
                               timedelta(seconds=seconds), now, changed=_changed(config))
    return keys.revoke_key(uow, ledger, caller, agency.id, args.key_id, now, changed=_changed(config))


def _changed(config: dict[str, Any]) -> keys.Changed:
    """Tell every running gateway process to drop its cached rows of the changed key. The change
    is committed already: when the broadcast cannot be sent, say so (the gateways' entries end
    within their KEY_CACHE_SECONDS) rather than fail."""
    def changed(key_ids=(), agency_ids=()) -> None:
        try:
            announce(config["AMQP_URI"], key_ids, agency_ids)
        except Exception as exc:  # noqa: BLE001 - the change stands either way
            print(f"keys: the change is made, but the gateways could not be told at once "
                  f"({type(exc).__name__}); their cached keys end within KEY_CACHE_SECONDS",
                  file=sys.stderr)

    return changed


def _ledger(config: dict[str, Any], caller: Principal) -> keys.Ledger:
    timeout = float(config.get("RPC_TIMEOUT_SECONDS", 5))

    def record(action: str, subject: str, details: dict[str, Any]) -> Any:
        with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]}, timeout=timeout) as rpc:
            return rpc.consent.record_change(caller.as_caller(),
                                             {"action": action, "subject": subject, "details": details})

    return record
