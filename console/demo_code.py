"""``referral-network demo-code EMAIL``: the current sign-in code of a demo console user.

The demo (``make run``) enrols its staff with TOTP secrets kept in the demo credentials file
(``var/demo-credentials.json``, or ``var/demo-credentials.postgres.json`` with ``--database
postgres``); this prints the six digits an authenticator app would show now, and how many seconds
they stay valid. A code is accepted once per person: after signing in, wait for the next one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo-code", help="print the current console sign-in code of a demo user")
    parser.add_argument("email")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.set_defaults(handler=demo_code_command)


def demo_code_command(args: argparse.Namespace) -> int:
    # The demo lives in the source tree (``network/``), not in a deployed image.
    try:
        from network import demo
        from network.run import credentials_file
    except ImportError:
        print("the demo is not part of this installation; run it from the source tree", file=sys.stderr)
        return 1

    path: Path = credentials_file(args.database)
    if not path.exists():
        print(f"no demo credentials in {path}: run `make run` first", file=sys.stderr)
        return 1
    try:
        code = demo.current_code(json.loads(path.read_text()), args.email)
    except KeyError:
        print(f"{args.email} is not a demo user in {path}", file=sys.stderr)
        return 1
    print(f"{code}  (valid for {30 - int(time.time()) % 30} more seconds)")
    return 0
