"""``GET /fhir/metadata``: the CapabilityStatement, made from the route table, so it declares
exactly the resources, interactions and search parameters the routes serve."""

from __future__ import annotations

from typing import Any

from gateway.fhir.codes import FHIR_VERSION, SDOHCC_SR_PROFILE, SDOHCC_TASK_PROFILE
from gateway.fhir.routes import FHIR_ROUTES, FhirRoute
from gateway.fhir.subscription import PROFILE as SUBSCRIPTION_PROFILE
from services.notifications.domain.subscriptions import TASK_STATUS_TOPIC

# name -> (type, documentation)
SEARCH_PARAMS: dict[str, tuple[str, str]] = {
    "_id": ("token", "the referral's id"),
    "focus": ("reference", "ServiceRequest/<id>: the Task of that referral"),
    "requester": ("reference", "Organization/<id>: the referring agency"),
    "owner": ("reference", "Organization/<id>: the peer group the referral is assigned to"),
    "performer": ("reference", "Organization/<id>: the peer group the referral is assigned to"),
    "status": ("token", "the Task status (one value)"),
    "_lastUpdated": ("date", "gt, ge, lt, le: poll with gt and the newest lastUpdated seen"),
    "identifier": ("token", "system|value: the referrer's own identifier"),
    "patient": ("reference", "Patient/<id>: the participant"),
    "subject": ("reference", "Patient/<id>: the participant"),
    "_count": ("number", "entries per page, 1 to 100 (default 50)"),
    "_page": ("string", "the cursor a next link carries"),
}
# A parameter documented differently for one resource type.
_RESOURCE_PARAMS: dict[tuple[str, str], tuple[str, str]] = {
    ("Subscription", "status"): ("token", "the subscription's status: requested, active, error, off"),
}
_PROFILES = {"Task": [SDOHCC_TASK_PROFILE], "ServiceRequest": [SDOHCC_SR_PROFILE],
             "Subscription": [SUBSCRIPTION_PROFILE]}
# The R4 Backport's way of declaring the topics a server offers.
_TOPIC_EXTENSION = ("http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                    "capabilitystatement-subscriptiontopic-canonical")
_CONDITIONAL = ("ServiceRequest", "Task")


def capability_statement(base: str, released: str) -> dict[str, Any]:
    """The server's CapabilityStatement; ``released`` is the date it describes (today)."""
    by_type: dict[str, list[FhirRoute]] = {}
    for route in FHIR_ROUTES:
        if route.resource_type:
            by_type.setdefault(route.resource_type, []).append(route)
    resources = []
    for kind in sorted(by_type):
        routes = by_type[kind]
        interactions = sorted({r.interaction for r in routes if r.interaction != "patch"})
        resource: dict[str, Any] = {
            "type": kind,
            "interaction": [{"code": code} for code in interactions],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": kind in _CONDITIONAL,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
        }
        if any(r.interaction == "patch" for r in routes):
            resource["interaction"].append({"code": "patch"})
        if kind in _PROFILES:
            resource["supportedProfile"] = _PROFILES[kind]
        if kind == "Subscription":
            resource["extension"] = [{
                "url": _TOPIC_EXTENSION, "valueCanonical": TASK_STATUS_TOPIC,
            }]
            resource["documentation"] = (
                f"Topic {TASK_STATUS_TOPIC}: every status change of the agency's own referrals' "
                "Tasks. rest-hook to https, application/fhir+json, id-only; handshake, heartbeats "
                "(backport-heartbeat-period) and event notifications, signed with the agency's "
                "webhook secret (X-Signature).")
        known = {name: _RESOURCE_PARAMS.get((kind, name), SEARCH_PARAMS.get(name))
                 for r in routes for name in r.search_params}
        params = {name: found for name, found in known.items() if found}
        if params:
            resource["searchParam"] = [
                {"name": name, "type": found[0], "documentation": found[1]}
                for name, found in params.items()]
        resources.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released,
        "publisher": "Recovery Referral Network",
        "kind": "instance",
        "software": {"name": "Recovery Referral Network"},
        "implementation": {"description": "Consented peer-support referrals (42 CFR Part 2)",
                           "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "patchFormat": ["application/json-patch+json"],
        "implementationGuide": ["http://hl7.org/fhir/us/sdoh-clinicalcare/ImplementationGuide/"
                                "hl7.fhir.us.sdoh-clinicalcare",
                                "http://hl7.org/fhir/uv/subscriptions-backport/ImplementationGuide/"
                                "hl7.fhir.uv.subscriptions-backport"],
        "rest": [{
            "mode": "server",
            "documentation": "Referrals (ServiceRequest and its Task share the referral's id), the "
                             "Part 2 consent they rest on, their participant and agencies.",
            "security": {
                "cors": False,
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"}],
                    "text": "Bearer: an agency's API key or a person's session token, as for /v1; "
                            "SMART system scopes (system/Task.rs ...) when the token carries them"}],
                "description": "Authorization: Bearer <API key or session token>. Each agency sees "
                               "its own referrals and consents only; another agency's answer "
                               "404 as an unknown id.",
            },
            "resource": resources,
            "interaction": [{"code": "transaction"}],
        }],
    }
