"""``python -m bench``: see ``bench/run.py``."""

import sys
import warnings

# nameko imports eventlet, which announces its deprecation on import; the stack is pinned.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from bench.run import main  # noqa: E402 - after the warning filter

sys.exit(main())
