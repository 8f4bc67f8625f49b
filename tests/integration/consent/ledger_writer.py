"""One ledger writer in its own OS process, for the concurrency test.

``python -m tests.integration.consent.ledger_writer URL WRITER COUNT RENDEZVOUS_DIR`` connects,
says it is ready (``ready-<writer>``), waits for ``go``, then appends COUNT entries, two a
transaction, through the repository the service uses. Ledger keys come from the environment.
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
    # One session and one repository throughout, committing after every pair of appends (as a
    # disclosure follows its decision): the second of a pair chains to the first without a read,
    # and the first of the next pair must read again, since other writers appended in between.
    with sessionmaker(engine)() as session:
        repository = LedgerRepository(session)
        for i in range(count):
            repository.append(keys, at=datetime.now(UTC), actor=f"writer-{writer}",
                              action="access", subject=f"load:{writer}:{i}")
            if i % 2 or i == count - 1:
                session.commit()
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
