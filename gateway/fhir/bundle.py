"""A transaction Bundle as SDOHCC requesters send a referral: read into its parts, and answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.fhir.references import invalid
from services.kit.errors import InvalidRequest

ACCEPTED = ("Patient", "Consent", "ServiceRequest", "Task")


@dataclass
class Entry:
    index: int
    full_url: str | None
    resource: dict[str, Any]
    if_none_exist: str | None = None

    @property
    def type(self) -> str:
        return self.resource["resourceType"]

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}]"


@dataclass
class Transaction:
    """The referral's parts: at most one of each, the ServiceRequest required."""

    entries: list[Entry] = field(default_factory=list)

    def one(self, resource_type: str) -> Entry | None:
        return next((e for e in self.entries if e.type == resource_type), None)

    def resources(self) -> dict[str, dict[str, Any]]:
        """Each entry's resource by its ``fullUrl`` (what references within the Bundle name)."""
        return {e.full_url: e.resource for e in self.entries if e.full_url}


def read_transaction(bundle: Any) -> Transaction:
    """The entries of a ``transaction`` Bundle, each a POST of a Patient, Consent, ServiceRequest
    or Task, at most one of each, with a ServiceRequest. Raises ``InvalidRequest`` naming the
    entry at fault."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise invalid("Bundle", "POST /fhir takes a Bundle.")
    if bundle.get("type") != "transaction":
        raise invalid("Bundle.type", "Send a transaction Bundle.")
    transaction = Transaction()
    errors: dict[str, list[str]] = {}
    for index, entry in enumerate(bundle.get("entry") or []):
        path = f"Bundle.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") not in ACCEPTED:
            errors.setdefault(f"{path}.resource", []).append(
                f"Each entry is one of {', '.join(ACCEPTED)}.")
            continue
        kind = resource["resourceType"]
        if not isinstance(request, dict) or request.get("method") != "POST" or request.get("url") != kind:
            errors.setdefault(f"{path}.request", []).append(f"Create it: method POST, url {kind}.")
            continue
        if transaction.one(kind) is not None:
            errors.setdefault(f"{path}.resource", []).append(f"One {kind} per referral.")
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        condition = request.get("ifNoneExist") if isinstance(request.get("ifNoneExist"), str) else None
        transaction.entries.append(Entry(index, full_url, resource, condition))
    if transaction.one("ServiceRequest") is None and not errors:
        errors["Bundle.entry"] = ["A referral's Bundle holds its ServiceRequest."]
    if errors:
        raise InvalidRequest("Some entries are missing or invalid.", errors=errors)
    return transaction


def response_entry(resource: dict[str, Any], base: str, created: bool) -> dict[str, Any]:
    kind, resource_id = resource["resourceType"], resource["id"]
    response: dict[str, Any] = {"status": "201 Created" if created else "200 OK",
                                "location": f"{kind}/{resource_id}"}
    updated = (resource.get("meta") or {}).get("lastUpdated")
    if updated:
        response["lastModified"] = updated
    return {"fullUrl": f"{base}/{kind}/{resource_id}", "resource": resource, "response": response}


def transaction_response(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
