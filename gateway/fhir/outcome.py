"""Errors as FHIR ``OperationOutcome``, with the same status and stable code as problem+json.

Each issue's ``details.coding`` carries the stable code (``invalid_request``, ``not_found``,
``consent_required``...) in the network's problem system, so a client branches on it exactly as on
a problem's ``code``; a field error becomes one issue whose ``expression`` is the FHIRPath of the
element at fault (the mappings translate ``/v1`` field names into FHIR paths before raising).
"""

from __future__ import annotations

from typing import Any

from gateway.fhir.codes import PROBLEM_SYSTEM
from gateway.problems import field_errors, problem_body
from services.kit.errors import Conflict, ConsentRequired

# problem code -> OperationOutcome issue type (http://hl7.org/fhir/issue-type)
ISSUE_TYPES: dict[str, str] = {
    "invalid_request": "invalid",
    "not_found": "not-found",
    "forbidden": "forbidden",
    "consent_required": "security",
    "unauthorized": "login",
    "sign_in_refused": "login",
    "conflict": "conflict",
    "idempotency_key_in_flight": "conflict",
    "idempotency_key_required": "required",
    "payload_too_large": "too-costly",
    "rate_limited": "throttled",
    "service_unavailable": "transient",
    "method_not_allowed": "not-supported",
    "multiple_matches": "duplicate",
    "internal": "exception",
}
_MISSING = ("Missing data for required field.", "Missing")


class MultipleMatches(Conflict):
    """A conditional create whose criteria match more than one resource (412)."""


def issue(code: str, text: str, expression: str | None = None, issue_type: str | None = None,
          ) -> dict[str, Any]:
    found: dict[str, Any] = {
        "severity": "error",
        "code": issue_type or ISSUE_TYPES.get(code, "processing"),
        "details": {"coding": [{"system": PROBLEM_SYSTEM, "code": code}], "text": text},
    }
    if expression:
        found["expression"] = [expression]
    return found


def operation_outcome(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """``(status, OperationOutcome)`` for ``exc``: the status and code problem+json would answer."""
    body = problem_body(exc)
    status, code, detail = body["status"], body["code"], body["detail"]
    if isinstance(exc, MultipleMatches):
        status, code = 412, "multiple_matches"
    issues: list[dict[str, Any]] = []
    errors = field_errors(exc) if status == 422 else None
    for path, messages in sorted((errors or {}).items()):
        for message in messages:
            kind = "required" if str(message).startswith(_MISSING) else None
            issues.append(issue(code, str(message), None if path == "_schema" else path, kind))
    if not issues:
        issues.append(issue(code, detail))
    if isinstance(exc, ConsentRequired):
        issues[0]["diagnostics"] = f"reason: {body['reason']}"
    return status, {"resourceType": "OperationOutcome", "issue": issues}


def informational(text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational",
                       "details": {"text": text}}]}
