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
