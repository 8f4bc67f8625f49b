"""The operator verifies the ledger in the background through the gateway on the real network:
a start answers 202 with the verification, a second start the same one, its result is read later."""

from __future__ import annotations

import pytest

from tests.harness.journeys import grant_consent, refer, wait

pytestmark = pytest.mark.e2e


def test_the_operator_starts_a_verification_and_reads_its_result(operator, agencies):
    hospital = agencies["hospital"]
    refer(hospital, grant_consent(hospital, classes=("peer_group",)))

    started = operator.request("POST", "/v1/audit/verifications")
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["state"] in ("running", "done")
    done = wait(lambda: (found := operator.ok("GET", f"/v1/audit/verifications/{job['id']}"))["state"]
                == "done" and found, "the verification")
    assert done["result"]["ok"] is True and done["result"]["entries"] == done["checked"] > 0
    # Only the operator verifies: an agency neither starts one nor reads one.
    assert hospital.request("POST", "/v1/audit/verifications").status_code == 403
    assert hospital.request("GET", f"/v1/audit/verifications/{job['id']}").status_code == 403
