"""What the services register with the kit, through entry points in ``pyproject.toml``.

The kit imports no service: each service names itself in these groups and the kit
loads whatever is installed.

- ``referral_network.services``: nameko service classes; their ``@subscribe`` consumers
  make up the broker topology (``services.kit.consumers``).
- ``referral_network.catalogs``: modules exposing ``EVENT_TYPES``, the events a service
  publishes (``services.kit.contract``).
- ``referral_network.commands``: ``register(sub)`` callables adding a ``referral-network``
  subcommand (``services.kit.cli``).
- ``referral_network.sealed``: a service's ORM module exposing ``metadata`` and
  ``ENCRYPTED``, the columns ``referral-network field-keys rotate`` re-encrypts.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

SERVICES = "referral_network.services"
CATALOGS = "referral_network.catalogs"
COMMANDS = "referral_network.commands"
SEALED = "referral_network.sealed"


class RegistryError(RuntimeError):
    """Two registrations claim the same name in one group."""


def registered(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, by name; ``RegistryError`` if a name is taken twice.

    Nothing is imported. An empty list means the product is not installed
    (``pip install -e .`` writes the entry points).
    """
    found = sorted(entry_points(group=group), key=lambda ep: ep.name)
    names = [ep.name for ep in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise RegistryError(f"{group}: {', '.join(twice)} registered more than once")
    return found


def load(group: str) -> dict[str, Any]:
    """Import every entry point of ``group``: name -> the object it names.

    An import error in a registered module propagates: a broken registration is a bug.
    """
    return {ep.name: ep.load() for ep in registered(group)}
