"""Every operation of the live ``/openapi.json``, as each role, against a network holding real data:
no 5xx, only documented statuses, and every body in its documented schema.

A failure names the operation and prints schemathesis' reproduction (a curl command, the API key
masked) and the response.
"""

from __future__ import annotations

import pytest
import schemathesis

from tests.contract import fuzzing

pytestmark = [pytest.mark.contract, pytest.mark.slow]

api = schemathesis.pytest.from_fixture("api_schema")


@api.parametrize()
def test_every_operation_keeps_its_contract(case, world):
    fuzzing.aim_at_real_objects(case, world)
    fuzzing.with_idempotency_key(case)
    case.call_and_validate(checks=fuzzing.CHECKS)


def test_postgres_share_reaches_every_operation_and_every_search_scope():
    """On PostgreSQL every operation is fuzzed at least once, as a role allowed to call it, and
    every search as each role allowed to call it."""
    from gateway import policy
    from gateway.routes import ROUTES

    shares = {role: set(fuzzing.on_postgres(role)) for role in fuzzing.ROLES}
    for route in ROUTES:
        allowed = policy.ROUTE_ROLES[route.operation]
        fuzzed_as = {role for role, operations in shares.items() if route.operation in operations}
        assert fuzzed_as, route.operation
        assert not allowed or fuzzed_as <= allowed, (route.operation, fuzzed_as)
        if route.method == "GET" and route.query and allowed:
            assert fuzzed_as == allowed & set(fuzzing.ROLES), (route.operation, fuzzed_as)
