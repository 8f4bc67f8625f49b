"""Reading RPC messages the same way in every service.

The gateway passes ``caller`` (the authenticated agency) and a request body; a
service validates both with marshmallow and answers bad input with
``InvalidRequest`` naming each field by its dotted path, never echoing values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load

from services.kit import vocabulary as v
from services.kit.errors import InvalidRequest


class StrictSchema(Schema):
    """Unknown fields are errors: a field nobody expects may be personal.

    A NUL byte in any string (a value or a key, however deep) is an error naming its field:
    no database stores one, and none of the network's text needs it.
    """

    class Meta:
        unknown = RAISE

    @pre_load
    def _no_nul_bytes(self, data: Any, **kwargs: object) -> Any:
        paths = v.nul_paths(data) if isinstance(data, Mapping) else []
        if paths:
            raise ValidationError({path: [v.NUL_MESSAGE] for path in paths})
        return data


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the gateway describes it: the one caller type of every service.

    Handlers take it as their first argument (or inside their command) and make their object
    checks with it; only ``load_caller`` builds one from an RPC message.
    """

    agency_id: str
    kind: str
    roles: frozenset[str]
    # Who acted within the agency: ``key:<name>`` or ``person:<id>``; the agency id when unknown.
    actor: str = ""

    def __post_init__(self) -> None:
        if not self.actor:
            object.__setattr__(self, "actor", self.agency_id)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_operator(self) -> bool:
        """The network operator: administers agencies, never sees participant data."""
        return self.kind == v.OPERATOR and v.OPERATOR in self.roles

    @property
    def is_funder(self) -> bool:
        """A funder: reads the network's de-identified outcome reports, nothing else."""
        return self.kind == v.FUNDER and v.FUNDER in self.roles

    @property
    def is_coordinator(self) -> bool:
        """A coordinator of a peer group: manages its mentors and decides its matches."""
        return self.kind == "peer_group" and "coordinator" in self.roles


@dataclass(frozen=True)
class CallerCommand:
    """The base of a command a caller asks: ``caller`` first, then the command's own fields."""

    caller: Caller


class CallerSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the gateway may say more about the agency than a service needs

    agency_id = v.identifier(required=True)
    kind = v.one_of(v.CALLER_KINDS, required=True)
    roles = fields.List(v.one_of(v.ROLES), load_default=list)
    actor = fields.String(load_default=None, allow_none=True,
                          validate=v.Whole(v.ACTOR_LABEL, error="Not an actor of this network."))


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of a list: ``items`` (each one an ``item``) and the ``next_page`` cursor.

    ``name`` becomes the class name, which the gateway's OpenAPI document shows; the page belongs
    to the module of its items, so it reads as that service's own message.
    """
    page = Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "next_page": v.next_page(),
    }, name=name)
    page.__module__ = item.__module__
    return page


def field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow messages as ``{"participant.given_name": [...]}``.

    Nested schemas and list items become dotted paths; messages about the whole
    object stay under ``prefix`` or ``_schema``.
    """
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for name, texts in field_errors(value, path).items():
                flat.setdefault(name, []).extend(texts)
        return flat
    if isinstance(messages, str):
        messages = [messages]
    texts = [str(m) for m in messages if not isinstance(m, Mapping)]
    flat = {prefix or "_schema": texts} if texts else {}
    for item in messages:
        if isinstance(item, Mapping):
            for name, more in field_errors(item, prefix).items():
                flat.setdefault(name, []).extend(more)
    return flat


@cache
def shared(schema: type[Schema]) -> Schema:
    """One instance of ``schema`` for every call: making a marshmallow schema copies its declared
    fields (tens of microseconds), and an instance holds no state between ``load`` and ``dump``
    calls, so one per class serves every worker."""
    return schema()


def load(schema: Schema, data: Any, prefix: str = "") -> dict[str, Any]:
    """``schema.load(data)``; raises ``InvalidRequest`` naming each bad field."""
    if not isinstance(data, Mapping):
        raise InvalidRequest("Expected an object.", errors={prefix or "_schema": ["Expected an object."]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidRequest("Some fields are missing or invalid.",
                             errors=field_errors(exc.messages, prefix)) from None


def load_caller(raw: Any) -> Caller:
    """The ``caller`` argument; raises ``InvalidRequest`` naming ``caller.<field>``."""
    data = load(shared(CallerSchema), raw, "caller")
    return Caller(data["agency_id"], data["kind"], frozenset(data["roles"]), data["actor"] or "")
