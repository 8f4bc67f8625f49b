"""A FHIR ``Patient`` as the participant of a consent, and the participant as a ``Patient``.

The participant's details go to the consent service with the consent that names them and are
never served back over FHIR: ``Patient/<participant id>`` answers the id alone, to the agencies
that referred that participant (the assigned peer group receives the details through the
handoff, a recorded disclosure).
"""

from __future__ import annotations

from typing import Any

from services.kit.errors import InvalidRequest

# The /v1 participant field -> the Patient element it comes from.
PATIENT_PATHS = {
    "given_name": "Patient.name.given",
    "family_name": "Patient.name.family",
    "birth_date": "Patient.birthDate",
    "phone": "Patient.telecom.where(system='phone')",
    "email": "Patient.telecom.where(system='email')",
    "preferred_language": "Patient.communication.language",
}


def participant_of(patient: Any) -> dict[str, Any]:
    """The ``participant`` of a ``/v1`` consent from a Patient: first official (or first) name,
    birth date, first phone and email, preferred (or first) communication language.

    Absent elements are left out for the consent schema to name; raises ``InvalidRequest`` for
    something that is not a Patient.
    """
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise InvalidRequest("Some elements are missing or invalid.",
                             errors={"Patient": ["Send the participant as a Patient resource."]})
    participant: dict[str, Any] = {}
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = [g for g in name.get("given") or [] if isinstance(g, str)]
    if given:
        participant["given_name"] = " ".join(given)
    if isinstance(name.get("family"), str):
        participant["family_name"] = name["family"]
    if patient.get("birthDate") is not None:
        participant["birth_date"] = patient["birthDate"]
    for point in patient.get("telecom") or []:
        if not isinstance(point, dict):
            continue
        system = point.get("system")
        if system in ("phone", "sms") and "phone" not in participant:
            participant["phone"] = point.get("value")
        elif system == "email" and "email" not in participant:
            participant["email"] = point.get("value")
    language = preferred_language(patient)
    if language:
        participant["preferred_language"] = language
    return participant


def languages_of(patient: dict[str, Any] | None) -> list[str]:
    """The patient's communication languages, the preferred first."""
    found: list[tuple[bool, str]] = []
    for item in (patient or {}).get("communication") or []:
        if not isinstance(item, dict):
            continue
        codes = [c.get("code") for c in (item.get("language") or {}).get("coding") or []
                 if isinstance(c, dict) and isinstance(c.get("code"), str)]
        if codes:
            found.append((not item.get("preferred"), codes[0]))
    return [code for _, code in sorted(found, key=lambda pair: pair[0])]


def preferred_language(patient: dict[str, Any]) -> str | None:
    languages = languages_of(patient)
    return languages[0] if languages else None


def patient(participant_id: str) -> dict[str, Any]:
    """The participant as the network shows them over FHIR: the id the consent service gave."""
    return {"resourceType": "Patient", "id": participant_id, "active": True}
