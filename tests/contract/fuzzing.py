"""How the contract suite drives schemathesis: its settings, the checks, and the real ids it mixes in.

Bounded and repeatable: a fixed seed, derandomized generation, no shrinking and no example
database, so a run does the same requests in the same order each time (the network's own
ids differ, which only changes what the real-id draws point at).
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from gateway import policy
from gateway.routes import ROUTES
from tests.contract.world import World

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
SEED = 20261201
# Per operation and role: fuzzing examples on top of the deterministic coverage cases.
MAX_EXAMPLES = 12
BARRED_EXAMPLES = 3
STATEFUL_SCENARIOS = 8
STATEFUL_STEPS = 6
ROLES = ("referrer", "coordinator", "admin")
IDEMPOTENCY_HEADER = "Idempotency-Key"
CREATING = frozenset(route.operation for route in ROUTES if route.creates)


def config(role: str, api_key: str, *, max_examples: int = MAX_EXAMPLES) -> schemathesis.Config:
    """The schemathesis configuration of one role's run: its key on every request, our checks only.

    Operations the role may not call are still sent, a few times each (they must answer a
    documented 403); the boundary-value coverage phase runs only where the role gets past policy.
    """
    barred = sorted(op for op, roles in policy.ROUTE_ROLES.items() if roles and role not in roles)
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
                        "generation": {"max-examples": BARRED_EXAMPLES}}],
    })


def load(base_url: str, world: World, role: str, **kwargs: Any) -> schemathesis.BaseSchema:
    """The live ``/openapi.json`` as ``role`` sees it, with the world's real ids mixed into paths
    and the ledger's participant filter."""
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
        participants = world.ids.get("participant", [])
        if context.operation.path != "/v1/audit/ledger" or not participants:
            return st.just(query)
        return st.one_of(st.just(query), st.sampled_from(participants).map(
            lambda participant: {**(query or {}), "participant": participant}))

    return schema


def with_idempotency_key(case: schemathesis.Case) -> None:
    """Give a creating POST a fresh ``Idempotency-Key``, so no two calls share one by chance."""
    if case.operation.definition.raw.get("operationId") in CREATING:
        case.headers = {**(case.headers or {}), IDEMPOTENCY_HEADER: str(uuid.uuid4())}
