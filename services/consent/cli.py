"""``referral-network ledger verify``: check the audit ledger's chain and signed checkpoints.

Against the database: reads the consent service's config (and so its database and ledger keys
from the environment), streams the ledger through the verifier with a progress bar on stderr.

Offline, as an outside auditor: ``--export FILE`` (``GET /v1/audit/ledger/export``), ``--checkpoints
FILE`` (the checkpoint log kept outside the database) and ``--public-key FILE`` (``GET
/v1/audit/public-key``); the only secret is the ledger HMAC key, from ``--hmac-key-file`` or
``LEDGER_HMAC_KEY``. An export that ends before the last checkpoint of the log was cut.

Either way the result is printed as JSON on stdout; the exit code is 0 when the ledger is intact,
1 when it is not, 2 when the inputs cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import sessionmaker

from services.consent import ledger_export
from services.consent.adapters.ledger_store import VERIFY_CHUNK, LedgerRepository, verify_stream
from services.consent.ledger_keys import load_ledger_keys
from services.kit import migrations
from services.kit.config import ConfigError, load_config
from services.kit.db import make_engine

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")
BAR_WIDTH = 40


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``referral-network ledger verify`` to the command line."""
    parser = sub.add_parser("ledger", help="the consent service's audit ledger")
    actions = parser.add_subparsers(dest="action", required=True)
    check = actions.add_parser("verify", help="check the hash chain and the signed checkpoints")
    check.add_argument("--config", default=str(DEFAULT_CONFIG), help="the consent service's config file")
    check.add_argument("--chunk", type=int, default=VERIFY_CHUNK,
                       help="rows read per query")
    offline = check.add_argument_group("offline, from an export (no database, no config)")
    offline.add_argument("--export", help="the ledger export, newline-delimited JSON")
    offline.add_argument("--checkpoints", help="the checkpoint log kept outside the database")
    offline.add_argument("--public-key", help="the checkpoints' Ed25519 public key, PEM")
    offline.add_argument("--hmac-key-file",
                         help="a file holding the ledger HMAC key (base64); default: $LEDGER_HMAC_KEY")
    check.set_defaults(handler=verify_ledger_command)


def verify_ledger_command(args: argparse.Namespace) -> int:
    """Print the verification result; 0 if the ledger is intact, 1 if not, 2 on bad config."""
    if args.export or args.checkpoints or args.public_key:
        return ledger_export.verify_export_command(args)
    try:
        config = load_config(args.config)
        keys = load_ledger_keys(config)
    except ConfigError as exc:
        print(f"ledger verify: {exc}", file=sys.stderr)
        return 2
    migrations.upgrade("consent", config["DATABASE_URL"])  # a new database verifies as an empty ledger
    engine = make_engine(config["DATABASE_URL"])
    try:
        factory = sessionmaker(engine)

        @contextmanager
        def reading() -> Iterator[LedgerRepository]:
            with factory() as session:
                yield LedgerRepository(session)

        with reading() as ledger:
            total = ledger.count()
        bar = ProgressBar(total, sys.stderr)
        result = verify_stream(reading, keys, chunk_size=max(args.chunk, 1), progress=bar.show,
                               stream=True)
        bar.done()
    finally:
        engine.dispose()
    print(json.dumps(result.as_dict()))
    return 0 if result.ok else 1


class ProgressBar:
    """``[#####-----]  1200/4000 rows`` redrawn in place on a stream."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream = total, stream

    def show(self, read: int) -> None:
        share = min(read / self.total, 1.0) if self.total else 1.0
        filled = int(share * BAR_WIDTH)
        self.stream.write(f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {read}/{self.total} rows")
        self.stream.flush()

    def done(self) -> None:
        if not self.total:
            self.show(0)
        self.stream.write("\n")
        self.stream.flush()
