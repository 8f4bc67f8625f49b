"""Every event consumer of the product, collected from the registered service classes.

A consumer is declared once, beside its handler: ``@subscribe("match.proposed", ...)``
on a method of a service class. Its queue is ``<service>.<method>``. The outbox relay
declares every consumer's queue at start, so an event published while its consumer
is down waits for it; ``referral-network topology`` does the same by hand.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.kit import registry
from services.kit.entrypoints import EventSubscriber

Subscriptions = dict[str, tuple[str, ...]]


def subscriptions_of(service_class: type) -> Subscriptions:
    """The consumer queues of one nameko service class: queue name -> event types.

    Raises ``ValueError`` if the class has no ``name`` (nameko needs one too).
    """
    service_name = getattr(service_class, "name", None)
    if not service_name:
        raise ValueError(f"{service_class.__qualname__} has no service name")
    found: Subscriptions = {}
    for method_name, method in inspect.getmembers(service_class, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventSubscriber):
                found[f"{service_name}.{method_name}"] = tuple(entrypoint.event_types)
    return found


def subscriptions(service_classes: Iterable[type] | None = None) -> Subscriptions:
    """Every consumer queue of ``service_classes`` (default: every registered service).

    Raises ``ValueError`` when two classes claim the same queue (two services with one name).
    """
    if service_classes is None:
        service_classes = registry.load(registry.SERVICES).values()
    every: Subscriptions = {}
    for service_class in service_classes:
        for queue, event_types in subscriptions_of(service_class).items():
            if queue in every:
                raise ValueError(f"consumer queue {queue} is declared by two services")
            every[queue] = event_types
    return dict(sorted(every.items()))
