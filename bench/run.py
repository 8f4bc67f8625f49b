"""``python -m bench [--smoke] [--only NAME ...]``: every benchmark, one results file.

Starts what it needs (a RabbitMQ vhost, a private PostgreSQL, the bare pipeline, the product
network), runs each section in order, removes everything, and writes
``bench/results/latest.json`` and ``latest.md`` (``smoke.json``/``smoke.md`` with ``--smoke``,
so a smoke run never overwrites the real figures). A section that fails is recorded with
its error; the others still run, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import (
    broker,
    consent,
    counts,
    machine,
    matching,
    memory,
    pipeline,
    product,
    profile,
    report,
    sqlite,
)
from bench.context import RABBIT_API, BenchContext

RESULTS = Path(__file__).resolve().parent / "results"
# In order: the baselines first, then what shares the product network, then the SQLite network
# of `make run` on its own, matching last on a quiet machine once every process is stopped.
SECTIONS: dict[str, Callable[..., dict]] = {
    "broker": broker.run, "pipeline": pipeline.run, "product": product.run, "consent": consent.run,
    "memory": memory.run, "count": counts.run, "profile": profile.run, "sqlite": sqlite.run,
    "matching": matching.run,
}
NEEDS_NETWORK = {"product", "consent", "memory", "count", "profile"}


def run_sections(names: list[str], smoke: bool) -> dict:
    results: dict = {"smoke": smoke, "sections": {}, "errors": {}, "seconds": {}}
    with BenchContext(smoke) as context:
        results["machine"] = machine.describe(RABBIT_API, context.postgres_admin)
        for name in names:
            if name not in NEEDS_NETWORK:
                context.stop_network()
            started = time.monotonic()
            print(f"bench: {name} ...", flush=True)
            try:
                results["sections"][name] = SECTIONS[name](smoke, context)
            except Exception as error:  # noqa: BLE001 - one broken section must not hide the rest
                context.failed = True
                traceback.print_exc()
                results["errors"][name] = f"{type(error).__name__}: {error}"
            results["seconds"][name] = round(time.monotonic() - started, 1)
            print(f"bench: {name} done in {results['seconds'][name]} s", flush=True)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="every benchmark at a tiny size")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), metavar="NAME",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    args = parser.parse_args(argv)
    names = [name for name in SECTIONS if not args.only or name in args.only]
    results = run_sections(names, args.smoke)
    stem = "smoke" if args.smoke else "latest"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(report.markdown(results))
    print(f"bench: wrote {args.out / stem}.json and .md")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
