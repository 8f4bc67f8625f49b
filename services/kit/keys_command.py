"""``referral-network field-keys rotate SERVICE``: move a service's sealed cells to its newest key.

Put the new key last in ``FIELD_ENCRYPTION_KEYS`` (``k1:<old>,k2:<new>``), restart the
service so new writes use it, then run this; reads keep working throughout because
every key in the ring still decrypts. Once it reports 0 left, the old key can go.

The services with sealed columns register their ORM module (``metadata`` and
``ENCRYPTED``) in the ``referral_network.sealed`` entry points; those names are the
choices of ``SERVICE``.
"""

from __future__ import annotations

import argparse
import json
from importlib.util import find_spec
from pathlib import Path

from sqlalchemy.orm import Session

from services.kit import registry
from services.kit.config import ConfigError, load_config
from services.kit.crypto import KeyRing
from services.kit.db import make_engine
from services.kit.encrypted import reencrypt_columns

CONFIG_FILE = "config.yml"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``referral-network field-keys rotate SERVICE`` (services from ``referral_network.sealed``).

    (``referral-network keys`` manages agencies' machine keys: ``gateway/keys_command.py``.)
    """
    parser = sub.add_parser("field-keys", help="field-encryption keys")
    actions = parser.add_subparsers(dest="action", required=True)
    rotate = actions.add_parser("rotate", help="re-encrypt a service's sealed data under the newest key")
    rotate.add_argument("service", choices=[ep.name for ep in registry.registered(registry.SEALED)])
    rotate.add_argument("--config", help="the service's config file (default: the config.yml of its package)")
    rotate.set_defaults(handler=rotate_service_keys)


def rotate_service_keys(args: argparse.Namespace) -> int:
    """Re-encrypt every sealed cell of ``args.service``; 0 once none is left under an older key.

    Raises ``ConfigError`` when the config has no ``FIELD_ENCRYPTION_KEYS``; database errors propagate.
    """
    (sealed,) = [ep for ep in registry.registered(registry.SEALED) if ep.name == args.service]
    config = load_config(args.config or default_config(sealed.module))
    spec = config.get("FIELD_ENCRYPTION_KEYS")
    if not spec:
        raise ConfigError("FIELD_ENCRYPTION_KEYS is not set")
    ring = KeyRing.from_config(str(spec))
    orm = sealed.load()
    engine = make_engine(config["DATABASE_URL"])
    try:
        with Session(engine) as session:
            rewritten = reencrypt_columns(session, orm.metadata, ring, orm.ENCRYPTED)
            left = reencrypt_columns(session, orm.metadata, ring, orm.ENCRYPTED)
    finally:
        engine.dispose()
    print(json.dumps({"service": args.service, "key": ring.primary_id, "rewritten": rewritten, "left": left}))
    return 0 if left == 0 else 1


def default_config(module: str) -> Path:
    """The ``config.yml`` nearest above ``module``'s file, inside its top-level package.

    For ``services.consent.adapters.orm`` that is ``services/consent/config.yml``.
    Raises ``ConfigError`` when there is none.
    """
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        raise ConfigError(f"{module} is not installed")
    top = Path(find_spec(module.partition(".")[0]).origin).parent
    for folder in Path(spec.origin).parents:
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
        if folder == top:
            break
    raise ConfigError(f"no {CONFIG_FILE} beside {module}; pass --config")
