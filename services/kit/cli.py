"""The ``referral-network`` command line.

Each subcommand is registered through the ``referral_network.commands`` entry points:
a ``register(sub)`` callable that adds its own argparse sub-parser and sets its
``handler``. Output is JSON lines unless stated otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from importlib.util import find_spec

from services.kit import broker, consumers, deadletters, registry, topology

DEFAULT_AMQP_URI = "pyamqp://guest:guest@localhost:5672/"

Register = Callable[[argparse._SubParsersAction], None]


def amqp_uri(args: argparse.Namespace) -> str:
    """The broker to talk to: ``--amqp-uri``, else ``$AMQP_URI``, else the local broker."""
    return args.amqp_uri or os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def register_deadletters(sub: argparse._SubParsersAction) -> None:
    """Add ``referral-network deadletters list|replay``."""
    parser = sub.add_parser("deadletters", help="list or replay events a consumer gave up on")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="show parked events with their errors")
    listing.set_defaults(handler=_list_dead_letters)
    again = actions.add_parser("replay", help="send parked events back to their consumer")
    again.add_argument("--event", action="append", dest="events", help="event id (repeatable)")
    again.add_argument("--consumer", help="only events parked by this consumer queue")
    again.add_argument("--all", action="store_true", help="replay every parked event")
    again.set_defaults(handler=_replay_dead_letters)
    for p in (listing, again):
        p.add_argument("--amqp-uri", help="default: $AMQP_URI or the local broker")


def _list_dead_letters(args: argparse.Namespace) -> int:
    with broker.connect(amqp_uri(args)) as conn:
        letters = deadletters.list_dead_letters(conn)
    for letter in letters:
        print(json.dumps(letter.summary()))
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return 0


def _replay_dead_letters(args: argparse.Namespace) -> int:
    if not (args.all or args.events or args.consumer):
        print("say which: --event ID, --consumer QUEUE or --all", file=sys.stderr)
        return 2
    uri = amqp_uri(args)
    with broker.connect(uri) as conn:
        outcome = deadletters.replay(
            conn, uri, event_ids=set(args.events) if args.events else None, consumer=args.consumer
        )
    for letter in outcome.replayed:
        print(json.dumps({"replayed": letter.event_id, "consumer": letter.consumer}))
    for letter in outcome.refused:
        print(json.dumps({"refused": letter.event_id, "consumer": letter.consumer, "error": letter.error}))
        print(f"not replayed: a message parked for {letter.consumer} is unreadable ({letter.error}); "
              "it stays in the dead letters for inspection", file=sys.stderr)
    print(f"{len(outcome.replayed)} event(s) replayed", file=sys.stderr)
    return 1 if outcome.refused else 0


def register_topology(sub: argparse._SubParsersAction) -> None:
    """Add ``referral-network topology``."""
    parser = sub.add_parser("topology", help="declare the exchanges and every consumer queue")
    parser.add_argument("--amqp-uri", help="default: $AMQP_URI or the local broker")
    parser.set_defaults(handler=_declare_topology)


def _declare_topology(args: argparse.Namespace) -> int:
    subscriptions = consumers.subscriptions()
    with broker.connect(amqp_uri(args)) as conn:
        topology.declare(conn, subscriptions, options=topology.QueueOptions.from_config(os.environ))
    for queue, event_types in subscriptions.items():
        print(json.dumps({"queue": queue, "events": list(event_types)}))
    print(f"declared {len(subscriptions)} consumer queues", file=sys.stderr)
    return 0


def registered_commands() -> dict[str, Register]:
    """Every installed subcommand: entry point name -> its ``register`` function.

    A registration whose own module is not installed (the entry points are older than
    the source tree) is left out with a warning; any other import error propagates.
    """
    found: dict[str, Register] = {}
    for ep in registry.registered(registry.COMMANDS):
        if not _installed(ep.module):
            print(f"referral-network: command {ep.name!r} is registered but {ep.module} is missing; "
                  "re-install the product", file=sys.stderr)
            continue
        found[ep.name] = ep.load()
    return found


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:  # its package is gone too
        return False


def build_parser() -> argparse.ArgumentParser:
    """The parser with every registered subcommand; errors in a command module propagate."""
    parser = argparse.ArgumentParser(prog="referral-network", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for register in registered_commands().values():
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
