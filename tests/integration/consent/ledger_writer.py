"""One ledger writer in its own OS process, for the concurrency test.

``python -m tests.integration.consent.ledger_writer URL WRITER COUNT RENDEZVOUS_DIR`` connects,
says it is ready (``ready-<writer>``), waits for ``go``, then appends COUNT entries, one
transaction each, through the repository the service uses. Ledger keys come from the environment.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from services.consent.adapters.ledger_store import LedgerRepository
from services.consent.ledger_keys import load_ledger_keys
from services.kit.db import make_engine


def main(url: str, writer: str, count: int, rendezvous: Path) -> None:
    keys = load_ledger_keys(os.environ)
    engine = make_engine(url, pool_size=1)
    with engine.connect():
        pass  # connected before the start, so the writers really overlap
    (rendezvous / f"ready-{writer}").touch()
    while not (rendezvous / "go").exists():
        time.sleep(0.005)
    session_factory = sessionmaker(engine)
    for i in range(count):
        with session_factory() as session:
            LedgerRepository(session).append(keys, at=datetime.now(UTC), actor=f"writer-{writer}",
                                             action="access", subject=f"load:{writer}:{i}")
            session.commit()
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
