"""FHIR resources as an EHR sends a referral (SDOHCC), and validation against FHIR models.

``validate`` checks a resource with the ``fhir.resources`` models of FHIR R4B (4.3.0), which
accept every R4 (4.0.1) document of the resources ``/fhir`` serves.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from gateway.fhir import codes as c


def validate(resource: dict[str, Any]) -> Any:
    """The resource parsed by its FHIR model (raises pydantic's ValidationError when invalid);
    a Bundle's entries are parsed with it."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def patient_resource(tag: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"use": "official", "given": [f"Canary{tag}"], "family": f"Zed{tag}"}],
        "birthDate": "1990-04-02",
        "telecom": [{"system": "phone", "value": "+15555550123"},
                    {"system": "email", "value": f"canary{tag.lower()}@example.org"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]},
                           "preferred": True},
                          {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}}],
    }


def consent_resource(discloser_id: str, patient_ref: str, *, recipients=("peer_group",),
                     agencies=(), classes=("demographics", "contact", "referral-reason")) -> dict[str, Any]:
    now = datetime.now(UTC)
    actors = [{"role": c.concept(c.PARTICIPATION_TYPE, c.DISCLOSER_ROLE),
               "reference": {"reference": f"Organization/{discloser_id}"}}]
    actors += [{"role": c.concept(c.PARTICIPATION_TYPE, c.RECIPIENT_ROLE),
                "reference": {"identifier": {"system": c.AGENCY_CLASS_SYSTEM, "value": kind}}}
               for kind in recipients]
    actors += [{"role": c.concept(c.PARTICIPATION_TYPE, c.RECIPIENT_ROLE),
                "reference": {"reference": f"Organization/{agency}"}} for agency in agencies]
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": c.concept(c.CONSENT_SCOPE_SYSTEM, "patient-privacy"),
        "category": [c.concept(c.LOINC, "59284-6")],
        "patient": {"reference": patient_ref},
        "dateTime": now.isoformat(),
        "performer": [{"reference": patient_ref}],
        "policy": [{"authority": c.PART2_AUTHORITY, "uri": c.PART2_POLICY}],
        "extension": [{"url": c.EXT_SIGNATURE_METHOD, "valueCode": "electronic"}],
        "provision": {
            "type": "permit",
            "period": {"start": (now - timedelta(minutes=5)).isoformat(),
                       "end": (now + timedelta(days=365)).isoformat()},
            "actor": actors,
            "purpose": [c.coding(c.PURPOSE_SYSTEM, "peer-support-referral")],
            "class": [c.coding(c.DATA_CLASS_SYSTEM, k) for k in classes],
        },
    }


def service_request_resource(requester_id: str, patient_ref: str, consent_ref: str, *,
                             identifier: str | None = None, system: str = "https://ehr.example/orders",
                             ) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [c.SDOH_CATEGORY],
        "code": c.SERVICE_CODE,
        "priority": "routine",
        "subject": {"reference": patient_ref},
        "requester": {"reference": f"Organization/{requester_id}"},
        "supportingInfo": [{"reference": consent_ref}],
        "reasonCode": [{"text": "Canary clinical note: peer support after detox discharge"}],
        "extension": [{"url": c.EXT_NEEDS, "extension": [
            {"url": "pathway", "valueCode": "12-step"},
            {"url": "livedExperience", "valueCode": "opioids"},
            {"url": "age", "valueInteger": 36},
            {"url": "latitude", "valueDecimal": 40.71}, {"url": "longitude", "valueDecimal": -74.0},
            {"url": "remoteOk", "valueBoolean": True},
            {"url": "availability", "valueCode": "mon-evening"},
        ]}],
    }
    if identifier:
        resource["identifier"] = [{"system": system, "value": identifier}]
    return resource


def task_resource(requester_id: str, patient_ref: str, request_ref: str, *,
                  identifier: str | None = None,
                  system: str = "https://ehr.example/orders") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "code": c.concept(c.TASK_CODE_SYSTEM, "fulfill"),
        "focus": {"reference": request_ref},
        "for": {"reference": patient_ref},
        "requester": {"reference": f"Organization/{requester_id}"},
    }
    if identifier:
        resource["identifier"] = [{"system": system, "value": identifier}]
    return resource


def referral_bundle(referrer_id: str, *, tag: str | None = None, identifier: str | None = None,
                    conditional: bool = False, **consent_options: Any) -> dict[str, Any]:
    """A transaction Bundle: Patient, Consent, ServiceRequest and Task, linked by urn:uuid."""
    tag = tag or uuid.uuid4().hex[:6]
    urls = {kind: f"urn:uuid:{uuid.uuid4()}" for kind in ("Patient", "Consent", "ServiceRequest", "Task")}
    resources = {
        "Patient": patient_resource(tag),
        "Consent": consent_resource(referrer_id, urls["Patient"], **consent_options),
        "ServiceRequest": service_request_resource(referrer_id, urls["Patient"], urls["Consent"],
                                                   identifier=identifier),
        "Task": task_resource(referrer_id, urls["Patient"], urls["ServiceRequest"], identifier=identifier),
    }
    entries = []
    for kind, resource in resources.items():
        request: dict[str, Any] = {"method": "POST", "url": kind}
        if conditional and identifier and kind == "ServiceRequest":
            request["ifNoneExist"] = f"identifier=https://ehr.example/orders|{identifier}"
        entries.append({"fullUrl": urls[kind], "resource": resource, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
