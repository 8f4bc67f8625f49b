"""Code systems, URLs and the code tables between the network's vocabulary and FHIR codings."""

from __future__ import annotations

from typing import Any

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"

# The network's own code systems and extensions.
BASE = "https://referral.network/fhir"
PROBLEM_SYSTEM = "urn:referral-network:problem"
AGENCY_CLASS_SYSTEM = f"{BASE}/CodeSystem/agency-class"
AGENCY_KIND_SYSTEM = AGENCY_CLASS_SYSTEM
PURPOSE_SYSTEM = f"{BASE}/CodeSystem/purpose"
DATA_CLASS_SYSTEM = f"{BASE}/CodeSystem/data-class"
STATUS_REASON_SYSTEM = f"{BASE}/CodeSystem/status-reason"
NEEDS_SYSTEM = f"{BASE}/CodeSystem/needs"
EXT_NEEDS = f"{BASE}/StructureDefinition/peer-support-needs"
EXT_EXPIRES_ON = f"{BASE}/StructureDefinition/consent-expires-on"
EXT_LATER_MEMBERS = f"{BASE}/StructureDefinition/consent-include-later-members"
EXT_SIGNATURE_METHOD = f"{BASE}/StructureDefinition/consent-signature-method"
EXT_REVOCATION_REASON = f"{BASE}/StructureDefinition/consent-revocation-reason"

# HL7 and external systems.
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
SNOMED = "http://snomed.info/sct"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PART2_AUTHORITY = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"
PART2_POLICY = PART2_AUTHORITY + "/subpart-C/section-2.31"
SDOHCC_TASK_PROFILE = ("http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/"
                       "SDOHCC-TaskForReferralManagement")
SDOHCC_SR_PROFILE = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest"

# Consent actors: who may disclose (the custodian of the record) and who may receive.
DISCLOSER_ROLE = "CST"
RECIPIENT_ROLE = "IRCP"

# Purposes: HL7 ActReason where it has one, the network's own code otherwise.
PURPOSE_CODINGS: dict[str, tuple[str, str]] = {
    "treatment": (ACT_REASON, "TREAT"),
    "care-coordination": (ACT_REASON, "CAREMGT"),
    "peer-support-referral": (PURPOSE_SYSTEM, "peer-support-referral"),
}
# Data classes: the network's own codes (ActCode ETH and PSY are read as substance use and mental
# health when a sender uses them).
DATA_CLASS_ALIASES: dict[tuple[str, str], str] = {
    (ACT_CODE, "ETH"): "substance-use",
    (ACT_CODE, "PSY"): "mental-health",
}

# What the peer-support service is, for ServiceRequest.code.
SERVICE_CODE = {"coding": [{"system": SNOMED, "code": "410606002",
                            "display": "Social service procedure"}],
                "text": "Peer recovery support"}
SDOH_CATEGORY = {"coding": [{"system": SDOHCC_CODES, "code": "sdoh-category-unspecified",
                             "display": "SDOH Category Unspecified"}]}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)]}


def codes_in(value: Any) -> list[tuple[str | None, str]]:
    """Every ``(system, code)`` of a CodeableConcept or Coding (or a list of them)."""
    if isinstance(value, list):
        return [found for item in value for found in codes_in(item)]
    if not isinstance(value, dict):
        return []
    if "coding" in value:
        return codes_in(value["coding"])
    if "code" in value:
        return [(value.get("system"), str(value["code"]))]
    return []


def has_code(value: Any, system: str, code: str) -> bool:
    return (system, code) in codes_in(value)
