"""``referral-network ledger verify``: check the audit ledger's chain and signed checkpoints.

Reads the consent service's config (and so its database and ledger keys from the
environment), streams the ledger through the verifier with a progress bar on stderr, prints
the result as JSON on stdout, and exits 0 when the ledger is intact, 1 when it is not.
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
    check.set_defaults(handler=verify_ledger_command)


def verify_ledger_command(args: argparse.Namespace) -> int:
    """Print the verification result; 0 if the ledger is intact, 1 if not, 2 on bad config."""
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
        result = verify_stream(reading, keys, chunk_size=max(args.chunk, 1), progress=bar.show)
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
