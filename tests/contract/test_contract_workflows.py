"""Sequences the OpenAPI links describe, as each role: what one answer names, the next request uses
(a consent's id read back and revoked, a new referral read, cancelled and reported on, the first
proposed match accepted or declined), with the same checks as single operations."""

from __future__ import annotations

import hypothesis
import pytest

from tests.contract import fuzzing

pytestmark = [pytest.mark.contract, pytest.mark.slow]


def test_linked_operations_keep_their_contract(contract_network, world, role):
    schema = fuzzing.load(contract_network.base_url, world, role)
    key = world.keys[role]

    class Workflow(schema.as_state_machine()):
        def before_call(self, case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
            fuzzing.with_idempotency_key(case)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=fuzzing.CHECKS, transport_kwargs=kwargs or None)

    Workflow.run(settings=hypothesis.settings(
        max_examples=fuzzing.STATEFUL_SCENARIOS, stateful_step_count=fuzzing.STATEFUL_STEPS,
        derandomize=True, deadline=None, database=None, phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck)))
