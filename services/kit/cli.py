"""The ``referral-network`` command line.

Subcommands register themselves through ``COMMANDS``: each entry adds its own
argparse sub-parser and handler. Output is JSON lines unless stated otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from services.kit import broker, deadletters, topology

DEFAULT_AMQP_URI = "pyamqp://guest:guest@localhost:5672/"

Command = Callable[[argparse._SubParsersAction], None]
COMMANDS: list[Command] = []


def command(register: Command) -> Command:
    COMMANDS.append(register)
    return register


def _amqp_uri(args: argparse.Namespace) -> str:
    return args.amqp_uri or os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


@command
def _deadletters(sub: argparse._SubParsersAction) -> None:
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
    with broker.connect(_amqp_uri(args)) as conn:
        letters = deadletters.list_dead_letters(conn)
    for letter in letters:
        print(json.dumps(letter.summary()))
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return 0


def _replay_dead_letters(args: argparse.Namespace) -> int:
    if not (args.all or args.events or args.consumer):
        print("say which: --event ID, --consumer QUEUE or --all", file=sys.stderr)
        return 2
    uri = _amqp_uri(args)
    with broker.connect(uri) as conn:
        replayed = deadletters.replay(
            conn, uri, event_ids=set(args.events) if args.events else None, consumer=args.consumer
        )
    for letter in replayed:
        print(json.dumps({"replayed": letter.event_id, "consumer": letter.consumer}))
    print(f"{len(replayed)} event(s) replayed", file=sys.stderr)
    return 0


@command
def _topology(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("topology", help="declare the exchanges and every consumer queue")
    parser.add_argument("--amqp-uri", help="default: $AMQP_URI or the local broker")
    parser.set_defaults(handler=_declare_topology)


def _declare_topology(args: argparse.Namespace) -> int:
    with broker.connect(_amqp_uri(args)) as conn:
        topology.declare(conn)
    print(f"declared {len(topology.SUBSCRIPTIONS)} consumer queues")
    return 0


def build_parser() -> argparse.ArgumentParser:
    _load_service_commands()
    parser = argparse.ArgumentParser(prog="referral-network", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    # Under ``python -m`` this file is ``__main__``; commands register on the importable module.
    from services.kit import cli as registry

    for register in registry.COMMANDS:
        register(sub)
    return parser


def _load_service_commands() -> None:
    """Import the modules whose ``@command`` registrations live next to their service."""
    import importlib

    from services.kit import cli as registry

    for module in ("services.kit.keys_command", "services.consent.commands", "gateway.commands",
                   "services.kit.migrations_command"):
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Only the command module (or its package) being absent is fine; a broken import is not.
            if exc.name is None or not module.startswith(exc.name):
                raise
            continue
        # A module written for the ``referral_network.commands`` entry points exposes ``register``.
        register = getattr(loaded, "register", None)
        if register is not None and register not in registry.COMMANDS:
            registry.COMMANDS.append(register)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
