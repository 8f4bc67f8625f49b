"""Run one ``nameko run`` with the sampling profiler of ``bench/sampler.py``.

    python -m bench.profiled OUT.json run --config CONFIG MODULE

The samples are written to OUT.json when the process stops (SIGTERM).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.sampler import Sampler


def main() -> None:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    sampler = Sampler(out)
    sampler.start()
    sys.argv = ["nameko", *args]
    from nameko.cli.main import main as nameko_main

    try:
        nameko_main()
    finally:
        sampler.stop()


if __name__ == "__main__":
    main()
