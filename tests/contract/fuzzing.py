"""How the contract suite drives schemathesis: its settings, the checks, and the real ids it mixes in.

Every operation is fuzzed as every role on SQLite (barred roles must get a documented 403). On
PostgreSQL (``on_postgres``) the same settings run where the database can change the answer: each
operation once, as a role allowed to call it (the roles take turns, so each role's key and scope
reach PostgreSQL), and every search as each role allowed to call it, since a search's SQL differs
with the caller's scope. The 403s of barred roles are decided before any database is read, so they
are not sent again there.

Bounded and repeatable: a fixed seed, derandomized generation, no shrinking and no example
database, so a run does the same requests in the same order each time (the network's own
ids differ, which only changes what the real-id draws point at).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase

from gateway import policy
from gateway.routes import ROUTES
from tests.contract.world import World

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
SEED = 20261201
# Per operation and role: fuzzing examples on top of the deterministic coverage cases.
MAX_EXAMPLES = 6
BARRED_EXAMPLES = 3
# Searches (GETs with a query) are cheap and read stored data back: more of them.
SEARCH_EXAMPLES = 12
# Control characters (NUL first among them) in a search filter must not reach a database as they are.
CONTROL_TEXT = st.one_of(st.sampled_from(["\x00", "p\x00", "\r\n", "\x1b[0m", "\x7f"]),
                         st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=8))
STATEFUL_SCENARIOS = 8
STATEFUL_STEPS = 6
ROLES = ("referrer", "coordinator", "admin", "operator")
IDEMPOTENCY_HEADER = "Idempotency-Key"
CREATING = frozenset(route.operation for route in ROUTES if route.creates)


def on_postgres(role: str) -> list[str]:
    """The operations fuzzed as ``role`` on PostgreSQL (see the module's docstring)."""
    chosen = []
    for index, route in enumerate(ROUTES):
        roles = policy.ROUTE_ROLES[route.operation]
        allowed = [each for each in ROLES if not roles or each in roles]
        search = route.method == "GET" and bool(route.query) and bool(roles)
        if (role in allowed) if search else allowed[index % len(allowed)] == role:
            chosen.append(route.operation)
    return chosen


def config(role: str, api_key: str, *, max_examples: int = MAX_EXAMPLES,
           only: list[str] | None = None) -> schemathesis.Config:
    """The schemathesis configuration of one role's run: its key on every request, our checks only.

    Operations the role may not call are still sent, a few times each (they must answer a
    documented 403); the boundary-value coverage phase runs only where the role gets past policy.
    Searches get more examples: odd filter values must not reach a database as they are. ``only``
    (operation ids) turns every other operation off.
    """
    barred = sorted(op for op, roles in policy.ROUTE_ROLES.items() if roles and role not in roles)
    searches = sorted(route.operation for route in ROUTES
                      if route.method == "GET" and route.query and route.operation not in barred)
    left_out = [] if only is None else sorted({route.operation for route in ROUTES} - set(only))
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {api_key}"},
        "generation": {"max-examples": max_examples, "deterministic": True, "no-shrink": True,
                       "database": "none"},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True},
                   "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS}},
        "checks": {"enabled": False, **{check.__name__: {"enabled": True} for check in CHECKS}},
        # Failing cases print as curl commands; the API key in them is masked.
        "output": {"sanitization": {"enabled": True}},
        "operations": [{"include-operation-id": barred, "phases": {"coverage": {"enabled": False}},
                        "generation": {"max-examples": BARRED_EXAMPLES}},
                       {"include-operation-id": searches,
                        "generation": {"max-examples": SEARCH_EXAMPLES}},
                       *([{"include-operation-id": left_out, "enabled": False}] if left_out else [])],
    })


def load(base_url: str, world: World, role: str, **kwargs: Any) -> schemathesis.BaseSchema:
    """The live ``/openapi.json`` as ``role`` sees it: the world's real ids mixed into paths and
    the ledger's participant filter, control characters into one search filter at a time, and
    valid bodies into the creating operations.

    Raises what ``schemathesis.openapi.from_url`` raises when the document cannot be loaded."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json",
                                           config=config(role, world.keys[role], **kwargs))

    @schema.hook
    def flatmap_path_parameters(context, parameters):
        real = world.ids_for_path(context.operation.path)
        if not real:
            return st.just(parameters)
        return st.one_of(st.sampled_from(real).map(lambda object_id: {"id": object_id}), st.just(parameters))

    @schema.hook
    def flatmap_query(context, query):
        options = [st.just(query)]
        participants = world.ids.get("participant", [])
        if context.operation.path == "/v1/audit/ledger" and participants:
            options.append(st.sampled_from(participants).map(
                lambda participant: {**(query or {}), "participant": participant}))
        # One odd filter at a time, the others left out: each must get past validation alone.
        options.extend(CONTROL_TEXT.map(lambda text, name=name: {name: text})
                       for name in _string_query_parameters(context.operation))
        return st.one_of(options)

    @schema.hook
    def flatmap_body(context, body):
        sample = world.samples.get(context.operation.definition.raw.get("operationId"))
        if sample is None:
            return st.just(body)
        return st.one_of(st.just(body), st.just(sample).map(copy.deepcopy))

    return schema


def _string_query_parameters(operation) -> list[str]:
    return sorted(p["name"] for p in operation.definition.raw.get("parameters", [])
                  if p.get("in") == "query" and p.get("schema", {}).get("type") == "string")


def aim_at_real_objects(case: schemathesis.Case, world: World) -> None:
    """Point a boundary-value case at a real object unless the case is about the path itself.

    The coverage phase varies bodies and queries around a made-up id, which would only ever
    reach the 404 of an unknown object; with a real id they reach the code that uses them.
    """
    meta = case.meta
    if meta is None or meta.phase.name not in (TestPhase.COVERAGE, TestPhase.EXAMPLES):
        return
    if meta.phase.data.parameter_location == ParameterLocation.PATH:
        return
    real = world.next_id_for_path(case.operation.path)
    if real is not None and case.path_parameters:
        case.path_parameters = {**case.path_parameters, "id": real}


def with_idempotency_key(case: schemathesis.Case) -> None:
    """Give a creating POST a fresh ``Idempotency-Key``, so no two calls share one by chance."""
    if case.operation.definition.raw.get("operationId") in CREATING:
        case.headers = {**(case.headers or {}), IDEMPOTENCY_HEADER: str(uuid.uuid4())}
