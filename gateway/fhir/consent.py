"""The Part 2 consent as a FHIR ``Consent``, both ways.

A FHIR Consent (scope ``patient-privacy``, category LOINC 59284-6 and/or ActCode IDSCL, policy
42 CFR Part 2) carries every element 42 CFR 2.31 asks for:

| 2.31 element | FHIR |
|---|---|
| the patient | ``patient`` (a Patient in the same Bundle or contained) |
| who may disclose | ``provision.actor`` with role ParticipationType ``CST``, an Organization |
| to whom | ``provision.actor`` with role ``IRCP``: an Organization, or a class of agencies as a |
| | Reference by identifier (system ``.../CodeSystem/agency-class``, e.g. ``peer_group``) |
| the purpose | ``provision.purpose`` (ActReason ``TREAT``, ``CAREMGT``, or ``.../CodeSystem/purpose``) |
| how much and what kind | ``provision.class`` (``.../CodeSystem/data-class``) |
| expiry | ``provision.period.end``, or the extension ``consent-expires-on`` (``end-of-treatment``) |
| signature and date | ``performer``: the Patient, or a contained RelatedPerson for a representative |
| | (its ``relationship`` states the authority); ``dateTime``; extension ``consent-signature-method`` |

``consent_request`` builds the ``/v1`` consent request and names, with its FHIR path, each
element missing; ``fhir_consent`` renders what the consent service answers. Revocation reads as
``status: inactive`` (a partial revocation as a nested ``deny`` provision for the recipients taken
off).
"""

from __future__ import annotations

from typing import Any

from gateway.fhir.codes import (
    ACT_CODE,
    AGENCY_CLASS_SYSTEM,
    CONSENT_SCOPE_SYSTEM,
    DATA_CLASS_ALIASES,
    DATA_CLASS_SYSTEM,
    DISCLOSER_ROLE,
    EXT_EXPIRES_ON,
    EXT_LATER_MEMBERS,
    EXT_SIGNATURE_METHOD,
    LOINC,
    PART2_AUTHORITY,
    PART2_POLICY,
    PARTICIPATION_TYPE,
    PURPOSE_CODINGS,
    RECIPIENT_ROLE,
    codes_in,
    coding,
    concept,
    has_code,
)
from gateway.fhir.patient import PATIENT_PATHS, participant_of
from gateway.fhir.references import invalid, ref, reference_type, target

CATEGORY_CODES = ((LOINC, "59284-6"), (ACT_CODE, "IDSCL"))
_ROLE_PATH = "Consent.provision.actor.where(role.coding.code='{}')"
DISCLOSERS_PATH = _ROLE_PATH.format(DISCLOSER_ROLE)
RECIPIENTS_PATH = _ROLE_PATH.format(RECIPIENT_ROLE)

# /v1 consent field -> the FHIR element it comes from.
CONSENT_PATHS: dict[str, str] = {
    "participant": "Consent.patient",
    **{f"participant.{name}": path for name, path in PATIENT_PATHS.items()},
    "disclosers": DISCLOSERS_PATH,
    "recipients": RECIPIENTS_PATH,
    "purposes": "Consent.provision.purpose",
    "data_classes": "Consent.provision.class",
    "valid_from": "Consent.provision.period.start",
    "valid_until": "Consent.provision.period.end",
    "expires_on": f"Consent.extension('{EXT_EXPIRES_ON}')",
    "signature": "Consent.performer",
    "signature.signed_by": "Consent.performer",
    "signature.signer_name": "Consent.performer",
    "signature.authority": "RelatedPerson.relationship",
    "signature.signed_at": "Consent.dateTime",
    "signature.method": f"Consent.extension('{EXT_SIGNATURE_METHOD}')",
    "include_later_members": f"Consent.extension('{EXT_LATER_MEMBERS}')",
}
# The 42 CFR 2.31 element each required field is.
PART2_ELEMENTS: dict[str, str] = {
    "participant": "the name of the patient (42 CFR 2.31(a)(1))",
    "participant.given_name": "the name of the patient (42 CFR 2.31(a)(1))",
    "participant.family_name": "the name of the patient (42 CFR 2.31(a)(1))",
    "disclosers": "who may make the disclosure (42 CFR 2.31(a)(2))",
    "recipients": "to whom the disclosure may be made (42 CFR 2.31(a)(4))",
    "purposes": "the purpose of the disclosure (42 CFR 2.31(a)(5))",
    "data_classes": "how much and what kind of information (42 CFR 2.31(a)(3))",
    "valid_from": "when the consent takes effect",
    "valid_until": "the date, event or condition on which it expires (42 CFR 2.31(a)(7))",
    "signature": "the signature of the patient or representative (42 CFR 2.31(a)(8))",
    "signature.signed_by": "the signature of the patient or representative (42 CFR 2.31(a)(8))",
    "signature.signer_name": "the signature of the patient or representative (42 CFR 2.31(a)(8))",
    "signature.signed_at": "the date signed (42 CFR 2.31(a)(9))",
    "signature.method": "how the consent was signed (electronic or wet-ink)",
}
# The consent schema's words about /v1 fields, in FHIR's.
REWORDED: dict[str, str] = {
    "Give valid_until or expires_on.":
        f"Missing data for required field: the date, event or condition on which it expires "
        f"(42 CFR 2.31(a)(7)): provision.period.end or the extension {EXT_EXPIRES_ON}.",
    "Give valid_until or expires_on, not both.":
        "Give provision.period.end or the consent-expires-on extension, not both.",
    "Must be after valid_from.": "Must be after provision.period.start.",
    "Name at least one recipient agency or class.":
        "Name at least one recipient: an Organization or a class of agencies.",
}
_PURPOSES_BY_CODING = {coded: purpose for purpose, coded in PURPOSE_CODINGS.items()}


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in resource.get("extension") or []
                 if isinstance(e, dict) and e.get("url") == url), None)


def consent_request(consent: Any, resources: dict[str, dict[str, Any]],
                    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``(body of POST /v1/consents, errors)`` from a FHIR Consent.

    ``resources`` resolves references to resources sent alongside (Bundle ``fullUrl``s and
    ``#id`` of contained resources). ``errors`` names, by FHIR path, what is wrong beyond what
    the consent schema itself checks (scope, category, status, unresolvable references); the
    caller loads the body with the schema and ``CONSENT_PATHS`` to name the rest.
    """
    errors: dict[str, list[str]] = {}

    def fail(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if not isinstance(consent, dict) or consent.get("resourceType") != "Consent":
        raise invalid("Consent", "Send a Consent resource.")
    resources = {**resources, **_contained(consent)}
    if consent.get("status") not in (None, "active"):
        fail("Consent.status", "A consent is recorded as active.")
    if not has_code(consent.get("scope"), CONSENT_SCOPE_SYSTEM, "patient-privacy"):
        fail("Consent.scope", "Use scope patient-privacy (consentscope).")
    categories = codes_in(consent.get("category") or [])
    if not any(code in categories for code in CATEGORY_CODES):
        fail("Consent.category", "Use category LOINC 59284-6 or ActCode IDSCL.")
    body: dict[str, Any] = {}

    patient = None
    if consent.get("patient") is not None:
        text = (consent.get("patient") or {}).get("reference")
        patient = resources.get(text) if isinstance(text, str) else None
        if patient is None:
            fail("Consent.patient", "Send the Patient in the same Bundle or contained in the Consent.")
        else:
            body["participant"] = participant_of(patient)

    provision = consent.get("provision") if isinstance(consent.get("provision"), dict) else {}
    disclosers: list[str] = []
    agencies: list[str] = []
    classes: list[str] = []
    for index, actor in enumerate(provision.get("actor") or []):
        path = f"Consent.provision.actor[{index}]"
        if not isinstance(actor, dict):
            fail(path, "An actor has a role and a reference.")
            continue
        role = actor.get("role")
        reference = actor.get("reference") or {}
        if has_code(role, PARTICIPATION_TYPE, DISCLOSER_ROLE):
            _collect(reference, path, disclosers, None, fail)
        elif has_code(role, PARTICIPATION_TYPE, RECIPIENT_ROLE):
            _collect(reference, path, agencies, classes, fail)
        else:
            fail(f"{path}.role", f"Use role {DISCLOSER_ROLE} (discloser) or {RECIPIENT_ROLE} (recipient).")
    if disclosers:
        body["disclosers"] = disclosers
    if agencies or classes:
        body["recipients"] = {"agencies": agencies, "classes": classes}

    purposes = [_PURPOSES_BY_CODING.get((c.get("system"), c.get("code")), c.get("code"))
                for c in provision.get("purpose") or [] if isinstance(c, dict)]
    if purposes:
        body["purposes"] = purposes
    classes_given = []
    for c in provision.get("class") or []:
        if not isinstance(c, dict):
            continue
        system, code = c.get("system"), c.get("code")
        classes_given.append(DATA_CLASS_ALIASES.get((system, code), code))
    if classes_given:
        body["data_classes"] = classes_given

    period = provision.get("period") if isinstance(provision.get("period"), dict) else {}
    if period.get("start") is not None:
        body["valid_from"] = period["start"]
    if period.get("end") is not None:
        body["valid_until"] = period["end"]
    expires = _extension(consent, EXT_EXPIRES_ON)
    if expires is not None:
        body["expires_on"] = expires.get("valueCode")
    later = _extension(consent, EXT_LATER_MEMBERS)
    if later is not None:
        body["include_later_members"] = later.get("valueBoolean")

    # Always sent, so that each missing part of the signature is named on its own.
    body["signature"] = _signature(consent, patient, resources, fail)
    return body, errors


def _contained(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"#{item['id']}": item for item in resource.get("contained") or []
            if isinstance(item, dict) and isinstance(item.get("id"), str)}


def _collect(reference: Any, path: str, agencies: list[str], classes: list[str] | None, fail) -> None:
    identifier = reference.get("identifier") if isinstance(reference, dict) else None
    by_class = isinstance(identifier, dict) and identifier.get("system") == AGENCY_CLASS_SYSTEM
    if classes is not None and by_class:
        classes.append(str(identifier.get("value")))
        return
    if reference_type(reference) != "Organization":
        fail(f"{path}.reference", "Reference an Organization (an agency of the network)"
             + (", or a class of agencies by identifier." if classes is not None else "."))
        return
    agencies.append(target(reference, "Organization", f"{path}.reference"))


def _signature(consent: dict[str, Any], patient: dict[str, Any] | None,
               resources: dict[str, dict[str, Any]], fail) -> dict[str, Any]:
    signature: dict[str, Any] = {}
    performers = [p for p in consent.get("performer") or [] if isinstance(p, dict)]
    if performers:
        performer = performers[0]
        text = performer.get("reference")
        signer = resources.get(text) if isinstance(text, str) else None
        kind = (signer or {}).get("resourceType") or reference_type(performer)
        if kind == "Patient" or (signer is not None and signer is patient):
            signature["signed_by"] = "participant"
            name = _name_of(signer or patient) or performer.get("display")
        elif kind == "RelatedPerson":
            signature["signed_by"] = "representative"
            name = _name_of(signer) or performer.get("display")
            authority = _relationship(signer)
            if authority:
                signature["authority"] = authority
        else:
            fail("Consent.performer", "The signer is the Patient or a RelatedPerson (a representative).")
            name = None
        if name:
            signature["signer_name"] = name
    if consent.get("dateTime") is not None:
        signature["signed_at"] = consent["dateTime"]
    method = _extension(consent, EXT_SIGNATURE_METHOD)
    if method is not None:
        signature["method"] = method.get("valueCode")
    return signature


def _name_of(resource: dict[str, Any] | None) -> str | None:
    for name in (resource or {}).get("name") or []:
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str) and name["text"].strip():
            return name["text"].strip()
        parts = [*(g for g in name.get("given") or [] if isinstance(g, str))]
        if isinstance(name.get("family"), str):
            parts.append(name["family"])
        if parts:
            return " ".join(parts)
    return None


def _relationship(resource: dict[str, Any] | None) -> str | None:
    for relation in (resource or {}).get("relationship") or []:
        if not isinstance(relation, dict):
            continue
        if isinstance(relation.get("text"), str) and relation["text"].strip():
            return relation["text"].strip()
        for c in relation.get("coding") or []:
            if isinstance(c, dict) and (c.get("display") or c.get("code")):
                return str(c.get("display") or c.get("code"))
    return None


# -- the consent as FHIR -----------------------------------------------------------------------

def _recipient_actors(recipients: dict[str, Any] | None) -> list[dict[str, Any]]:
    actors = [{"role": concept(PARTICIPATION_TYPE, RECIPIENT_ROLE), "reference": ref("Organization", a)}
              for a in (recipients or {}).get("agencies") or []]
    actors += [{"role": concept(PARTICIPATION_TYPE, RECIPIENT_ROLE),
                "reference": {"identifier": {"system": AGENCY_CLASS_SYSTEM, "value": c},
                              "display": f"every {c.replace('_', ' ')} of the network"}}
               for c in (recipients or {}).get("classes") or []]
    return actors


def fhir_consent(view: dict[str, Any]) -> dict[str, Any]:
    """A consent as the consent service answers it (``ConsentSchema``), as a FHIR Consent."""
    period: dict[str, Any] = {"start": view["valid_from"]}
    if view.get("valid_until"):
        period["end"] = view["valid_until"]
    actors = [{"role": concept(PARTICIPATION_TYPE, DISCLOSER_ROLE), "reference": ref("Organization", a)}
              for a in view.get("disclosers") or []]
    actors += _recipient_actors(view.get("recipients"))
    provision: dict[str, Any] = {
        "type": "permit",
        "period": period,
        "actor": actors,
        "purpose": [coding(*PURPOSE_CODINGS[p]) if p in PURPOSE_CODINGS else coding(PURPOSE_CODINGS[
            "peer-support-referral"][0], p) for p in view.get("purposes") or []],
        "class": [coding(DATA_CLASS_SYSTEM, c) for c in view.get("data_classes") or []],
    }
    revoked = view.get("revoked") or {}
    if revoked.get("agencies") or revoked.get("classes"):
        provision["provision"] = [{"type": "deny", "actor": _recipient_actors(revoked)}]
    signature = view.get("signature") or {}
    extensions = [{"url": EXT_SIGNATURE_METHOD, "valueCode": signature["method"]}] if signature.get(
        "method") else []
    if view.get("expires_on"):
        extensions.append({"url": EXT_EXPIRES_ON, "valueCode": view["expires_on"]})
    if view.get("include_later_members") is not None:
        extensions.append({"url": EXT_LATER_MEMBERS, "valueBoolean": bool(view["include_later_members"])})
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": view["id"],
        "meta": {"lastUpdated": view.get("revoked_at") or view.get("created_at") or view["valid_from"]},
        "status": "active" if view.get("status") == "active" else "inactive",
        "scope": concept(CONSENT_SCOPE_SYSTEM, "patient-privacy"),
        "category": [concept(LOINC, "59284-6", "Consent Document"), concept(ACT_CODE, "IDSCL")],
        "patient": ref("Patient", view["participant_id"]),
        "policy": [{"authority": PART2_AUTHORITY, "uri": PART2_POLICY}],
        "provision": provision,
    }
    if extensions:
        resource["extension"] = extensions
    if signature.get("signed_at"):
        resource["dateTime"] = signature["signed_at"]
    if signature.get("signed_by") == "participant":
        resource["performer"] = [ref("Patient", view["participant_id"])]
    elif signature.get("signed_by") == "representative":
        resource["performer"] = [{"display": "the participant's representative"}]
    if view.get("holder"):
        resource["organization"] = [ref("Organization", view["holder"])]
    return resource
