"""``referral-network report``: the outcome tables on the command line, and rebuilding them.

Reads the outcomes service's config (its database from the environment). ``--rebuild`` replays
the event log into fresh read-model tables first, with a progress bar on stderr; the report is
printed as JSON (or ``--csv``) on stdout, the same as ``GET /v1/reports/outcomes`` answers the
network's view (a funder's or the operator's).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import sessionmaker

from services.kit.config import ConfigError, load_config
from services.kit.db import make_engine
from services.kit.errors import InvalidRequest
from services.kit.messages import Caller, load, shared
from services.kit.revisions import SchemaNotCurrent, require_head
from services.kit.unit_of_work import UnitOfWork
from services.kit.vocabulary import FUNDER
from services.outcomes import schemas as s
from services.outcomes.adapters.orm import metadata
from services.outcomes.adapters.repository import outcomes_repositories
from services.outcomes.domain.disclosure import DEFAULT_K
from services.outcomes.handlers import reports

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")
BAR_WIDTH = 40


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``referral-network report`` to the command line."""
    parser = sub.add_parser("report", help="de-identified outcome tables (docs/outcomes.md)")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="the outcomes service's config file")
    parser.add_argument("--rebuild", action="store_true", help="replay the event log into fresh tables first")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of JSON")
    parser.add_argument("--from", dest="from_", metavar="YYYY-MM", help="first month")
    parser.add_argument("--to", metavar="YYYY-MM", help="last month")
    parser.add_argument("--by", help="break the tables down by urgency, referrer, peer_group or language")
    parser.add_argument("--measure", help="only these measures (comma-separated)")
    parser.set_defaults(handler=report_command)


class ProgressBar:
    """``[#####-----]  1200/4000 events`` redrawn in place on a stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def show(self, read: int, total: int) -> None:
        share = min(read / total, 1.0) if total else 1.0
        filled = int(share * BAR_WIDTH)
        self.stream.write(f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {read}/{total} events")
        self.stream.flush()

    def done(self, total: int) -> None:
        self.show(total, total)
        self.stream.write("\n")
        self.stream.flush()


def report_command(args: argparse.Namespace) -> int:
    """Print the report; 0 on success, 2 on bad config or arguments or a database behind the
    release's schema."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    raw = {"from": args.from_, "to": args.to, "by": args.by, "measure": args.measure}
    try:
        query = load(shared(s.OutcomesQuery), {name: value for name, value in raw.items() if value})
    except InvalidRequest as exc:
        print(f"report: {exc}: {json.dumps(exc.errors)}", file=sys.stderr)
        return 2
    engine = make_engine(config["DATABASE_URL"])
    try:
        # A report reads; bringing the schema up to date is ``referral-network migrate``'s work.
        require_head("outcomes", engine)
    except SchemaNotCurrent as exc:
        engine.dispose()
        print(f"report: {exc}", file=sys.stderr)
        return 2
    try:
        uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata}),
                         source="outcomes", repositories=lambda session: outcomes_repositories(session))
        if args.rebuild:
            bar = ProgressBar(sys.stderr)
            counts = reports.rebuild(uow, progress=bar.show)
            bar.done(counts["events"])
            print(f"rebuilt: {json.dumps(counts)}", file=sys.stderr)
        k = max(int(config.get("OUTCOMES_K", DEFAULT_K)), 2)
        caller = Caller(agency_id="cli", kind=FUNDER, roles=frozenset({FUNDER}), actor="cli:report")
        try:
            result = reports.outcome_report(uow, caller, query, k, datetime.now(UTC))
        except InvalidRequest as exc:
            print(f"report: {exc}: {json.dumps(exc.errors)}", file=sys.stderr)
            return 2
    finally:
        engine.dispose()
    if args.csv:
        sys.stdout.write(s.report_csv(shared(s.OutcomesReport).dump(result)))
    else:
        print(json.dumps(shared(s.OutcomesReport).dump(result), indent=2))
    return 0
