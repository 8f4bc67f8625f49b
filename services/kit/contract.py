"""The event contract shared by every service.

One envelope for every event, and a catalog of event types, each with a
versioned payload schema and the upcasters from its older versions. The event
types live with their publisher (``services/<service>/catalog.py``), registered
through the ``referral_network.catalogs`` entry points. Payloads carry ids and
matching criteria only: never names, contact details or clinicians' free text.

Publishing an invalid event raises ``ContractError`` (a programming error);
a consumer that receives one parks it as a dead letter instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.kit import registry
from services.kit.messages import shared


class ContractError(ValueError):
    """An event that does not match the catalog."""


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    source = fields.String(required=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(load_default=None, allow_none=True)
    payload = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    """A validated event as consumers see it."""

    id: str
    type: str
    version: int
    occurred_at: datetime
    source: str
    correlation_id: str
    causation_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "source": self.source,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "payload": self.payload,
        }


# -- the catalog -----------------------------------------------------------------------------

class PayloadSchema(Schema):
    """The base of every payload schema in a service's catalog."""

    class Meta:
        # Unknown keys are an error: a field that is not in the catalog may be personal.
        unknown = "raise"


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    schema: type[Schema]
    # upcasters[n] turns a version-n payload into version n+1.
    upcasters: dict[int, Upcaster] = field(default_factory=dict)


class EventCatalog(Mapping[str, EventType]):
    """Every known event type, by name, gathered from the publishers' catalog modules.

    ``load`` returns the event types; it runs on first use, so importing the kit
    imports no service. By default it reads the ``referral_network.catalogs`` entry
    points, each a module exposing ``EVENT_TYPES``.
    """

    def __init__(self, load: Callable[[], Iterable[EventType]] | None = None) -> None:
        self._load = load or _registered_event_types
        self._types: dict[str, EventType] | None = None

    def _loaded(self) -> dict[str, EventType]:
        if self._types is None:
            types: dict[str, EventType] = {}
            for spec in self._load():
                if spec.name in types:
                    raise ContractError(f"event type {spec.name!r} is in two catalogs")
                types[spec.name] = spec
            self._types = types
        return self._types

    def __getitem__(self, name: str) -> EventType:
        return self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def event_type(self, name: str) -> EventType:
        """The current spec of ``name``; ``ContractError`` if no publisher declares it."""
        try:
            return self[name]
        except KeyError:
            raise ContractError(f"unknown event type {name!r}") from None


def _registered_event_types() -> list[EventType]:
    modules = registry.load(registry.CATALOGS)
    return [spec for module in modules.values() for spec in module.EVENT_TYPES]


CATALOG = EventCatalog()


def new_event(
    type_: str,
    payload: dict[str, Any],
    *,
    source: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> Event:
    """Build a current-version event, validating its payload against the catalog.

    ``event_id`` is a new random id unless the caller derives one (the same fact told twice must
    carry the same id, so that every consumer's inbox keeps it once).
    Raises ``ContractError`` for an unknown type or a payload that does not fit.
    """
    spec = CATALOG.event_type(type_)
    try:
        clean = shared(spec.schema).load(payload)
    except ValidationError as exc:
        raise ContractError(f"invalid {type_} payload: {exc.messages}") from exc
    event_id = event_id or str(uuid.uuid4())
    return Event(
        id=event_id,
        type=type_,
        version=spec.version,
        occurred_at=occurred_at or datetime.now(UTC),
        source=source,
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
        payload=shared(spec.schema).dump(clean),
    )


def parse_event(message: Any) -> Event:
    """Validate an incoming message and upcast its payload to the current version.

    Raises ``ContractError`` when the envelope, type, version or payload is invalid.
    """
    if not isinstance(message, dict):
        raise ContractError("event body is not a JSON object")
    try:
        env = shared(EnvelopeSchema).load(message)
    except ValidationError as exc:
        raise ContractError(f"invalid envelope: {exc.messages}") from exc
    spec = CATALOG.event_type(env["type"])
    version, payload = env["version"], env["payload"]
    if version > spec.version:
        raise ContractError(f"{spec.name} version {version} is newer than this consumer knows")
    while version < spec.version:
        upcast = spec.upcasters.get(version)
        if upcast is None:
            raise ContractError(f"no upcaster for {spec.name} version {version}")
        payload, version = upcast(payload), version + 1
    try:
        payload = shared(spec.schema).dump(shared(spec.schema).load(payload))
    except ValidationError as exc:
        raise ContractError(f"invalid {spec.name} payload: {exc.messages}") from exc
    return Event(
        id=str(env["id"]),
        type=spec.name,
        version=spec.version,
        occurred_at=env["occurred_at"],
        source=env["source"],
        correlation_id=env["correlation_id"],
        causation_id=env["causation_id"],
        payload=payload,
    )
