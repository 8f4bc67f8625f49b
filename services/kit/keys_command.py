"""``referral-network keys rotate SERVICE``: move a service's sealed cells to its newest key.

Put the new key last in ``FIELD_ENCRYPTION_KEYS`` (``k1:<old>,k2:<new>``), restart the
service so new writes use it, then run this; reads keep working throughout because
every key in the ring still decrypts. Once it reports 0 left, the old key can go.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

from sqlalchemy.orm import Session

from services.kit.cli import command
from services.kit.config import ConfigError, load_config
from services.kit.crypto import KeyRing
from services.kit.db import make_engine
from services.kit.encrypted import reencrypt_columns

ROOT = Path(__file__).resolve().parents[2]
SEALED_SERVICES = ("consent", "referrals", "notifications")


@command
def _keys(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("keys", help="field-encryption keys")
    actions = parser.add_subparsers(dest="action", required=True)
    rotate = actions.add_parser("rotate", help="re-encrypt a service's sealed data under the newest key")
    rotate.add_argument("service", choices=SEALED_SERVICES)
    rotate.add_argument("--config", help="the service's config file (default: its config.yml)")
    rotate.set_defaults(handler=rotate_service_keys)


def rotate_service_keys(args: argparse.Namespace) -> int:
    config = load_config(args.config or ROOT / "services" / args.service / "config.yml")
    spec = config.get("FIELD_ENCRYPTION_KEYS")
    if not spec:
        raise ConfigError("FIELD_ENCRYPTION_KEYS is not set")
    ring = KeyRing.from_config(str(spec))
    orm = importlib.import_module(f"services.{args.service}.adapters.orm")
    engine = make_engine(config["DATABASE_URL"])
    try:
        with Session(engine) as session:
            rewritten = reencrypt_columns(session, orm.metadata, ring, orm.ENCRYPTED)
            left = reencrypt_columns(session, orm.metadata, ring, orm.ENCRYPTED)
    finally:
        engine.dispose()
    print(json.dumps({"service": args.service, "key": ring.primary_id, "rewritten": rewritten, "left": left}))
    return 0 if left == 0 else 1
