"""A referral as the SDOH Clinical Care IG shapes one: a ``ServiceRequest`` (what is asked) and
a ``Task`` (its workflow), both with the referral's id, both ways.

``ServiceRequest``: ``subject`` the Patient (participant), ``supportingInfo`` the Consent,
``requester`` the referring Organization, ``priority`` the urgency, ``reasonCode``/``note`` the
clinician's reason, ``identifier`` the referrer's own identifier, the extension
``peer-support-needs`` what the mentor should fit (languages default to the Patient's
communication languages). ``Task``: ``focus`` the ServiceRequest, ``for`` the Patient, ``status``
the referral's status, ``statusReason`` the reason code of the last stop or pause, ``owner`` the
peer group once assigned, ``output`` at completion.
"""

from __future__ import annotations

from typing import Any

from gateway.fhir.codes import (
    EXT_NEEDS,
    SDOH_CATEGORY,
    SDOHCC_CODES,
    SDOHCC_SR_PROFILE,
    SDOHCC_TASK_PROFILE,
    SERVICE_CODE,
    STATUS_REASON_SYSTEM,
    TASK_CODE_SYSTEM,
    codes_in,
    concept,
)
from gateway.fhir.patient import languages_of
from gateway.fhir.references import invalid, ref, target

# /v1 referral field -> the ServiceRequest element it comes from.
REFERRAL_PATHS: dict[str, str] = {
    "participant_id": "ServiceRequest.subject",
    "consent_id": "ServiceRequest.supportingInfo",
    "reason": "ServiceRequest.reasonCode",
    "urgency": "ServiceRequest.priority",
    "needs": f"ServiceRequest.extension('{EXT_NEEDS}')",
    "needs.languages": f"ServiceRequest.extension('{EXT_NEEDS}').extension('language')",
    "needs.mentor_gender": f"ServiceRequest.extension('{EXT_NEEDS}').extension('mentorGender')",
    "needs.pathways": f"ServiceRequest.extension('{EXT_NEEDS}').extension('pathway')",
    "needs.lived_experience": f"ServiceRequest.extension('{EXT_NEEDS}').extension('livedExperience')",
    "needs.age": f"ServiceRequest.extension('{EXT_NEEDS}').extension('age')",
    "needs.location": f"ServiceRequest.extension('{EXT_NEEDS}').extension('latitude')",
    "needs.availability": f"ServiceRequest.extension('{EXT_NEEDS}').extension('availability')",
    "external_id": "ServiceRequest.identifier.value",
    "external_id_system": "ServiceRequest.identifier.system",
}
_PRIORITIES = {"routine": "routine", "urgent": "urgent", "asap": "urgent", "stat": "urgent"}
# Sub-extensions of peer-support-needs: (url, needs field, value[x], repeats)
_NEEDS = (
    ("language", "languages", "valueCode", True),
    ("mentorGender", "mentor_gender", "valueCode", False),
    ("mentorGenderRequired", "mentor_gender_required", "valueBoolean", False),
    ("pathway", "pathways", "valueCode", True),
    ("livedExperience", "lived_experience", "valueCode", True),
    ("age", "age", "valueInteger", False),
    ("remoteOk", "remote_ok", "valueBoolean", False),
    ("availability", "availability", "valueCode", True),
)
# Referral status -> ServiceRequest status.
_REQUEST_STATUS = {"requested": "active", "accepted": "active", "in-progress": "active",
                   "on-hold": "on-hold", "completed": "completed", "rejected": "revoked",
                   "failed": "revoked", "cancelled": "revoked"}
REASON_STATUSES = ("rejected", "cancelled", "on-hold", "failed")
FINAL = ("rejected", "completed", "failed", "cancelled")


def identifier_of(resource: dict[str, Any], kind: str) -> tuple[str | None, str | None, list[str]]:
    """``(system, value, errors)`` of a resource's one identifier (None, None when it has none)."""
    identifiers = [i for i in resource.get("identifier") or [] if isinstance(i, dict)]
    if not identifiers:
        return None, None, []
    if len(identifiers) > 1:
        return None, None, [f"{kind}.identifier: give one identifier, the referrer's own."]
    value, system = identifiers[0].get("value"), identifiers[0].get("system")
    if not isinstance(value, str):
        return None, None, [f"{kind}.identifier.value: required."]
    return (system if isinstance(system, str) else None), value, []


def referral_request(request: Any, resources: dict[str, dict[str, Any]], local: dict[str, str],
                     caller_agency: str, patient: dict[str, Any] | None = None,
                     ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``(body of POST /v1/referrals, errors)`` from an SDOHCC ServiceRequest.

    ``local`` maps Bundle ``fullUrl``s to the ids made for them (the Patient's participant id, the
    Consent's id); ``patient`` is the Patient sent alongside (its languages are the default for
    ``needs.languages``). ``errors`` are keyed by FHIR path; the caller loads the body with
    ``ReferralCreateRequest`` and ``REFERRAL_PATHS`` to name the rest.
    """
    if not isinstance(request, dict) or request.get("resourceType") != "ServiceRequest":
        raise invalid("ServiceRequest", "Send a ServiceRequest resource.")
    errors: dict[str, list[str]] = {}

    def fail(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if request.get("status") not in (None, "active"):
        fail("ServiceRequest.status", "A new referral is active.")
    if request.get("intent") not in (None, "order", "original-order"):
        fail("ServiceRequest.intent", "A referral is an order.")
    requester = request.get("requester")
    if requester is not None and _id_or_none(requester, "Organization", local) != caller_agency:
        fail("ServiceRequest.requester", "The requester is the calling agency's Organization.")
    body: dict[str, Any] = {}
    for path, key, kind, reference in (("ServiceRequest.subject", "participant_id", "Patient",
                                        request.get("subject")),
                                       ("ServiceRequest.supportingInfo", "consent_id", "Consent",
                                        _consent_reference(request))):
        if reference is None:
            continue
        try:
            body[key] = target(reference, kind, path, local)
        except Exception as exc:  # InvalidRequest: named by path
            errors.update(getattr(exc, "errors", {path: ["Invalid reference."]}))
    reason = _reason(request)
    if reason:
        body["reason"] = reason
    if request.get("priority") is not None:
        body["urgency"] = _PRIORITIES.get(request["priority"], request["priority"])
    needs = needs_of(request)
    if "languages" not in needs and patient is not None:
        languages = languages_of(patient)
        if languages:
            needs["languages"] = languages
    body["needs"] = needs
    system, value, problems = identifier_of(request, "ServiceRequest")
    for problem in problems:
        path, _, message = problem.partition(": ")
        fail(path, message)
    if value is not None:
        body["external_id"] = value
        if system is not None:
            body["external_id_system"] = system
    return body, errors


def _id_or_none(reference: Any, kind: str, local: dict[str, str]) -> str | None:
    try:
        return target(reference, kind, "reference", local)
    except Exception:  # noqa: BLE001 - any unreadable reference is "not the caller"
        return None


def _consent_reference(request: dict[str, Any]) -> dict[str, Any] | None:
    infos = [i for i in request.get("supportingInfo") or [] if isinstance(i, dict)]
    for info in infos:
        text = info.get("reference")
        if isinstance(text, str) and ("Consent/" in text or text.startswith("urn:")):
            return info
    return infos[0] if infos else None


def _reason(request: dict[str, Any]) -> str | None:
    texts = []
    for reason in request.get("reasonCode") or []:
        if isinstance(reason, dict):
            text = reason.get("text") or next(
                (c.get("display") for c in reason.get("coding") or [] if isinstance(c, dict)
                 and c.get("display")), None)
            if isinstance(text, str) and text.strip():
                texts.append(text.strip())
    if not texts:
        texts = [n["text"].strip() for n in request.get("note") or []
                 if isinstance(n, dict) and isinstance(n.get("text"), str) and n["text"].strip()]
    return "; ".join(texts) if texts else None


def needs_of(resource: dict[str, Any]) -> dict[str, Any]:
    """The ``needs`` of a referral from the ``peer-support-needs`` extension."""
    outer = next((e for e in resource.get("extension") or []
                  if isinstance(e, dict) and e.get("url") == EXT_NEEDS), None)
    needs: dict[str, Any] = {}
    if outer is None:
        return needs
    inner = [e for e in outer.get("extension") or [] if isinstance(e, dict)]
    for url, name, value_key, repeats in _NEEDS:
        values = [e.get(value_key) for e in inner if e.get("url") == url and value_key in e]
        if values:
            needs[name] = values if repeats else values[0]
    latitude = next((e.get("valueDecimal") for e in inner if e.get("url") == "latitude"), None)
    longitude = next((e.get("valueDecimal") for e in inner if e.get("url") == "longitude"), None)
    if latitude is not None or longitude is not None:
        needs["location"] = {"lat": latitude, "lon": longitude}
    return needs


def needs_extension(needs: dict[str, Any]) -> dict[str, Any]:
    inner: list[dict[str, Any]] = []
    for url, name, value_key, repeats in _NEEDS:
        value = needs.get(name)
        if value is None or value == []:
            continue
        for item in (value if repeats else [value]):
            inner.append({"url": url, value_key: item})
    location = needs.get("location")
    if location:
        inner.append({"url": "latitude", "valueDecimal": location["lat"]})
        inner.append({"url": "longitude", "valueDecimal": location["lon"]})
    return {"url": EXT_NEEDS, "extension": inner}


# -- the referral as FHIR ----------------------------------------------------------------------

def _identifier(view: dict[str, Any]) -> list[dict[str, Any]]:
    if not view.get("external_id"):
        return []
    found = {"value": view["external_id"]}
    if view.get("external_id_system"):
        found = {"system": view["external_id_system"], **found}
    return [found]


def _meta(view: dict[str, Any], profile: str) -> dict[str, Any]:
    return {"lastUpdated": view.get("updated_at") or view.get("created_at"), "profile": [profile]}


def fhir_service_request(view: dict[str, Any]) -> dict[str, Any]:
    """A referral as the referrals service answers it (``ReferralResult``), as a ServiceRequest."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": view["id"],
        "meta": _meta(view, SDOHCC_SR_PROFILE),
        "status": _REQUEST_STATUS[view["status"]],
        "intent": "order",
        "category": [SDOH_CATEGORY],
        "code": SERVICE_CODE,
        "priority": view.get("urgency") or "routine",
        "subject": ref("Patient", view["participant_id"]),
        "authoredOn": view.get("created_at"),
        "requester": ref("Organization", view["referrer_agency_id"]),
        "supportingInfo": [ref("Consent", view["consent_id"])],
    }
    identifiers = _identifier(view)
    if identifiers:
        resource["identifier"] = identifiers
    if view.get("assigned_agency_id"):
        resource["performer"] = [ref("Organization", view["assigned_agency_id"])]
    if view.get("reason"):
        resource["reasonCode"] = [{"text": view["reason"]}]
    if view.get("needs"):
        resource["extension"] = [needs_extension(view["needs"])]
    return resource


def status_reason(view: dict[str, Any]) -> str | None:
    """The reason code of the move into the current status, when it says one."""
    for entry in reversed(view.get("history") or []):
        if entry.get("status") == view["status"]:
            return entry.get("reason_code")
    return None


def _moved_at(view: dict[str, Any], statuses: tuple[str, ...]) -> str | None:
    return next((e["at"] for e in view.get("history") or [] if e.get("status") in statuses), None)


def fhir_task(view: dict[str, Any]) -> dict[str, Any]:
    """A referral (``ReferralResult``) as the SDOHCC Task that manages it."""
    status = view["status"]
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": view["id"],
        "meta": _meta(view, SDOHCC_TASK_PROFILE),
        "status": status,
        "intent": "order",
        "priority": view.get("urgency") or "routine",
        "code": concept(TASK_CODE_SYSTEM, "fulfill"),
        "focus": ref("ServiceRequest", view["id"]),
        "for": ref("Patient", view["participant_id"]),
        "authoredOn": view.get("created_at"),
        "lastModified": view.get("updated_at") or view.get("created_at"),
        "requester": ref("Organization", view["referrer_agency_id"]),
    }
    identifiers = _identifier(view)
    if identifiers:
        resource["identifier"] = identifiers
    code = status_reason(view) if status in REASON_STATUSES else None
    if code:
        resource["statusReason"] = concept(STATUS_REASON_SYSTEM, code)
    if status == "requested":
        if view.get("waitlisted"):
            resource["businessStatus"] = {"text": "waitlisted: no fitting mentor yet"}
        elif (view.get("match") or {}).get("status") == "proposed":
            resource["businessStatus"] = {"text": "proposed to a peer group"}
    if view.get("assigned_agency_id"):
        resource["owner"] = ref("Organization", view["assigned_agency_id"])
    started = _moved_at(view, ("accepted",))
    if started:
        period = {"start": started}
        if status in FINAL:
            period["end"] = view.get("updated_at")
        resource["executionPeriod"] = period
    if status == "completed":
        resource["output"] = [{
            "type": concept(SDOHCC_CODES, "resulting-activity", "Resulting Activity"),
            "valueCodeableConcept": {"text": "Peer recovery support completed"},
        }]
    return resource


# -- changes to a Task -------------------------------------------------------------------------

def task_change(body: Any, content_type: str | None) -> dict[str, Any]:
    """``{"status", "reason_code", "reason"}`` asked by a PATCH (JSON Patch, or a partial Task
    as a simple status change) or a PUT of a Task.

    Only ``status``, ``statusReason`` (and the Task's note as the agency's words) may change;
    raises ``InvalidRequest`` naming anything else.
    """
    if isinstance(body, list) or (content_type or "").startswith("application/json-patch+json"):
        return _from_json_patch(body)
    if not isinstance(body, dict) or body.get("resourceType", "Task") != "Task":
        raise invalid("Task", "Send a Task, or a JSON Patch of its status.")
    return _change(body.get("status"), body.get("statusReason"), _note(body.get("note")))


def _from_json_patch(operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list) or not operations:
        raise invalid("Task", "A JSON Patch is a list of operations.")
    status = reason = note = None
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or op.get("op") not in ("replace", "add", "test"):
            raise invalid(f"Task[{index}]", "Only replace and add of status and statusReason.")
        if op["op"] == "test":
            continue
        path = op.get("path")
        if path == "/status":
            status = op.get("value")
        elif path == "/statusReason":
            reason = op.get("value")
        elif path in ("/note", "/note/-", "/note/0"):
            note = _note(op.get("value") if isinstance(op.get("value"), list) else [op.get("value")])
        else:
            raise invalid(f"Task{path}" if isinstance(path, str) else "Task",
                          "Only status, statusReason and note may be changed.")
    return _change(status, reason, note)


def _note(notes: Any) -> str | None:
    texts = [n["text"].strip() for n in notes or [] if isinstance(n, dict)
             and isinstance(n.get("text"), str) and n["text"].strip()]
    return "; ".join(texts) if texts else None


def _change(status: Any, reason: Any, note: str | None) -> dict[str, Any]:
    if not isinstance(status, str):
        raise invalid("Task.status", "Give the new status.")
    codes = [code for system, code in codes_in(reason) if system in (None, STATUS_REASON_SYSTEM)]
    text = reason.get("text") if isinstance(reason, dict) else None
    return {"status": status, "reason_code": codes[0] if codes else None,
            "reason": note or (text.strip() if isinstance(text, str) and text.strip() else None)}
