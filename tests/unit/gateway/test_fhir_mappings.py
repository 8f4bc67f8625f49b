"""The /fhir mappings both ways, each resource they make checked with FHIR's own models."""

from __future__ import annotations

import copy
import json

import pytest

from gateway.fhir import codes as c
from gateway.fhir.bundle import read_transaction
from gateway.fhir.capability import capability_statement
from gateway.fhir.consent import CONSENT_PATHS, PART2_ELEMENTS, REWORDED, consent_request, fhir_consent
from gateway.fhir.organization import organization
from gateway.fhir.outcome import MultipleMatches, operation_outcome
from gateway.fhir.paths import load_as_fhir
from gateway.fhir.patient import patient
from gateway.fhir.referral import (
    REFERRAL_PATHS,
    fhir_service_request,
    fhir_task,
    referral_request,
    task_change,
)
from gateway.fhir.routes import FHIR_ROUTES
from services.consent.schemas import ConsentCreateRequest
from services.kit.errors import ConsentRequired, InvalidRequest, NotFound
from services.referrals.schemas import ReferralCreateRequest
from tests.harness.fhir import referral_bundle, validate

HOSPITAL = "6f1c1a7e-1111-4a4a-8b8b-000000000001"
PEERS = "6f1c1a7e-1111-4a4a-8b8b-000000000002"
PARTICIPANT = "6f1c1a7e-1111-4a4a-8b8b-000000000003"
CONSENT = "6f1c1a7e-1111-4a4a-8b8b-000000000004"
REFERRAL = "6f1c1a7e-1111-4a4a-8b8b-000000000005"


def bundle_parts(**options):
    bundle = referral_bundle(HOSPITAL, tag="Abc", identifier="ORD-7", **options)
    transaction = read_transaction(bundle)
    return bundle, transaction, {e.type: e for e in transaction.entries}


def outcome_of(error: BaseException) -> tuple[int, dict]:
    status, outcome = operation_outcome(error)
    validate(outcome)
    return status, outcome


def consent_view(**overrides):
    view = {
        "id": CONSENT, "participant_id": PARTICIPANT, "status": "active", "holder": HOSPITAL,
        "disclosers": [HOSPITAL], "recipients": {"agencies": [PEERS], "classes": ["peer_group"]},
        "purposes": ["peer-support-referral", "treatment"], "data_classes": ["contact", "demographics"],
        "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2027-11-01T00:00:00Z", "expires_on": None,
        "signature": {"signed_by": "participant", "signed_at": "2026-11-01T10:00:00Z",
                      "method": "electronic"},
        "created_at": "2026-11-01T10:00:05Z", "revoked_at": None, "include_later_members": False,
        "revoked": {"agencies": [], "classes": []},
    }
    return {**view, **overrides}


def referral_view(status="requested", **overrides):
    history = [{"status": "requested", "at": "2026-12-01T10:00:00Z", "by": HOSPITAL}]
    if status != "requested":
        history.append({"status": "accepted", "at": "2026-12-01T10:05:00Z", "by": "network",
                        "reason_code": "match_accepted"})
    if status not in ("requested", "accepted"):
        history.append({"status": status, "at": "2026-12-01T11:00:00Z", "by": PEERS,
                        "reason_code": "capacity" if status in ("on-hold", "failed", "cancelled") else None})
    view = {
        "id": REFERRAL, "status": status, "urgency": "routine", "referrer_agency_id": HOSPITAL,
        "assigned_agency_id": None if status == "requested" else PEERS,
        "participant_id": PARTICIPANT, "consent_id": CONSENT, "created_at": history[0]["at"],
        "updated_at": history[-1]["at"], "history": history, "match": None, "waitlisted": False,
        "reason": "peer support after detox", "external_id": "ORD-7",
        "external_id_system": "https://ehr.example/orders",
        "needs": {"languages": ["es", "en"], "pathways": ["12-step"], "age": 36,
                  "location": {"lat": 40.71, "lon": -74.0}, "remote_ok": True},
    }
    return {**view, **overrides}


# -- Consent -------------------------------------------------------------------------------------

def test_a_bundled_consent_becomes_the_v1_consent_with_every_part2_element():
    bundle, transaction, parts = bundle_parts(agencies=[PEERS])
    body, errors = consent_request(parts["Consent"].resource, transaction.resources())
    assert errors == {}
    loaded = ConsentCreateRequest().load(body)
    assert body["participant"] == {"given_name": "CanaryAbc", "family_name": "ZedAbc",
                                   "birth_date": "1990-04-02", "phone": "+15555550123",
                                   "email": "canaryabc@example.org", "preferred_language": "es"}
    assert body["disclosers"] == [HOSPITAL]
    assert body["recipients"] == {"agencies": [PEERS], "classes": ["peer_group"]}
    assert body["purposes"] == ["peer-support-referral"]
    assert body["data_classes"] == ["demographics", "contact", "referral-reason"]
    assert body["signature"]["signed_by"] == "participant"
    assert body["signature"]["signer_name"] == "CanaryAbc ZedAbc"
    assert loaded["signature"]["method"] == "electronic" and "valid_until" in loaded


def test_a_consent_missing_part2_elements_is_refused_naming_each_one():
    _, transaction, parts = bundle_parts()
    consent = copy.deepcopy(parts["Consent"].resource)
    del consent["provision"]["purpose"], consent["provision"]["class"], consent["dateTime"]
    del consent["provision"]["period"]["end"], consent["performer"]
    consent["provision"]["actor"] = [a for a in consent["provision"]["actor"]
                                     if a["role"]["coding"][0]["code"] == c.RECIPIENT_ROLE]
    body, extra = consent_request(consent, transaction.resources())
    with pytest.raises(InvalidRequest) as refused:
        load_as_fhir(ConsentCreateRequest(), body, CONSENT_PATHS, PART2_ELEMENTS, extra, REWORDED)
    status, outcome = outcome_of(refused.value)
    assert status == 422
    named = {issue["expression"][0]: issue for issue in outcome["issue"]}
    for path in ("Consent.provision.purpose", "Consent.provision.class", "Consent.performer",
                 "Consent.dateTime", "Consent.provision.period.end",
                 "Consent.provision.actor.where(role.coding.code='CST')"):
        assert path in named, path
        assert named[path]["details"]["coding"][0]["code"] == "invalid_request"
    assert "42 CFR 2.31(a)(5)" in named["Consent.provision.purpose"]["details"]["text"]
    assert "42 CFR 2.31(a)(7)" in named["Consent.provision.period.end"]["details"]["text"]
    assert "valid_until" not in json.dumps(outcome)
    assert named["Consent.provision.purpose"]["code"] == "required"


def test_a_consent_needs_the_privacy_scope_and_category():
    _, transaction, parts = bundle_parts()
    consent = copy.deepcopy(parts["Consent"].resource)
    consent["scope"] = c.concept(c.CONSENT_SCOPE_SYSTEM, "treatment")
    consent["category"] = [c.concept(c.LOINC, "64292-6")]
    _, errors = consent_request(consent, transaction.resources())
    assert set(errors) == {"Consent.scope", "Consent.category"}


def test_a_representative_signs_with_their_authority():
    _, transaction, parts = bundle_parts()
    consent = copy.deepcopy(parts["Consent"].resource)
    consent["contained"] = [{"resourceType": "RelatedPerson", "id": "rep", "patient": consent["patient"],
                             "name": [{"text": "Rosa Ruiz"}],
                             "relationship": [{"text": "legal guardian"}]}]
    consent["performer"] = [{"reference": "#rep"}]
    validate(consent)
    body, _ = consent_request(consent, transaction.resources())
    assert body["signature"] | {"signed_at": None} == {
        "signed_by": "representative", "signer_name": "Rosa Ruiz", "authority": "legal guardian",
        "method": "electronic", "signed_at": None}


def test_the_consent_service_view_reads_as_a_fhir_consent_and_back():
    resource = fhir_consent(consent_view())
    validate(resource)
    assert resource["status"] == "active"
    assert resource["category"][0]["coding"][0]["code"] == "59284-6"
    assert resource["policy"][0]["authority"] == c.PART2_AUTHORITY
    purposes = {(p["system"], p["code"]) for p in resource["provision"]["purpose"]}
    assert (c.ACT_REASON, "TREAT") in purposes
    # Back again (with the Patient the network does not serve): the same terms.
    patient_resource = {"resourceType": "Patient", "name": [{"given": ["Ana"], "family": "Ruiz"}]}
    body, errors = consent_request(resource, {f"Patient/{PARTICIPANT}": patient_resource})
    assert errors == {}
    for key in ("disclosers", "recipients", "purposes", "data_classes", "valid_from", "valid_until"):
        assert body[key] == consent_view()[key], key
    assert body["signature"]["signed_by"] == "participant"


def test_a_revoked_consent_is_inactive_and_a_partial_revocation_denies_those_recipients():
    revoked = fhir_consent(consent_view(status="revoked", revoked_at="2026-12-01T00:00:00Z"))
    validate(revoked)
    assert revoked["status"] == "inactive" and revoked["meta"]["lastUpdated"] == "2026-12-01T00:00:00Z"
    partial = fhir_consent(consent_view(revoked={"agencies": [PEERS], "classes": []}))
    validate(partial)
    [deny] = partial["provision"]["provision"]
    assert deny["type"] == "deny" and deny["actor"][0]["reference"]["reference"] == f"Organization/{PEERS}"
    expiring = fhir_consent(consent_view(valid_until=None, expires_on="end-of-treatment"))
    validate(expiring)
    assert {"url": c.EXT_EXPIRES_ON, "valueCode": "end-of-treatment"} in expiring["extension"]


# -- ServiceRequest and Task ---------------------------------------------------------------------

def test_a_bundled_service_request_becomes_the_v1_referral():
    _, transaction, parts = bundle_parts()
    local = {parts["Patient"].full_url: PARTICIPANT, parts["Consent"].full_url: CONSENT}
    body, errors = referral_request(parts["ServiceRequest"].resource, transaction.resources(), local,
                                    HOSPITAL, parts["Patient"].resource)
    assert errors == {}
    loaded = ReferralCreateRequest().load(body)
    assert (loaded["participant_id"], loaded["consent_id"]) == (PARTICIPANT, CONSENT)
    assert loaded["needs"]["languages"] == ["es", "en"]  # from the Patient's communication
    assert loaded["needs"]["location"] == {"lat": 40.71, "lon": -74.0}
    assert (loaded["external_id"], loaded["external_id_system"]) == ("ORD-7", "https://ehr.example/orders")
    assert loaded["reason"].startswith("Canary clinical note")


def test_a_service_request_for_another_requester_or_without_its_parts_is_refused():
    _, transaction, parts = bundle_parts()
    request = copy.deepcopy(parts["ServiceRequest"].resource)
    request["requester"] = {"reference": f"Organization/{PEERS}"}
    del request["reasonCode"], request["supportingInfo"]
    body, extra = referral_request(request, transaction.resources(), {parts["Patient"].full_url: PARTICIPANT},
                                   HOSPITAL, None)
    with pytest.raises(InvalidRequest) as refused:
        load_as_fhir(ReferralCreateRequest(), body, REFERRAL_PATHS, None, extra)
    paths = set(refused.value.errors)
    assert {"ServiceRequest.requester", "ServiceRequest.reasonCode", "ServiceRequest.supportingInfo",
            f"ServiceRequest.extension('{c.EXT_NEEDS}').extension('language')"} <= paths


@pytest.mark.parametrize("status", ["requested", "accepted", "in-progress", "on-hold", "completed",
                                    "failed", "cancelled", "rejected"])
def test_every_referral_status_is_a_valid_task_and_service_request(status):
    view = referral_view(status)
    task, request = fhir_task(view), fhir_service_request(view)
    validate(task)
    validate(request)
    assert task["status"] == status and task["focus"]["reference"] == f"ServiceRequest/{REFERRAL}"
    assert task["meta"]["lastUpdated"] == view["updated_at"]
    assert ("owner" in task) == (status != "requested")
    assert ("output" in task) == (status == "completed")
    assert ("statusReason" in task) == (status in ("on-hold", "failed", "cancelled"))
    assert request["identifier"] == [{"system": "https://ehr.example/orders", "value": "ORD-7"}]


def test_a_service_request_reads_back_as_the_same_referral():
    request = fhir_service_request(referral_view())
    body, errors = referral_request(request, {}, {}, HOSPITAL)
    assert errors == {}
    assert ReferralCreateRequest().load(body)["needs"] == ReferralCreateRequest().load(
        {**body, "needs": referral_view()["needs"]})["needs"]
    assert (body["participant_id"], body["consent_id"], body["external_id"]) == (
        PARTICIPANT, CONSENT, "ORD-7")


def test_the_peer_group_sees_no_identifier_reason_or_needs():
    seen = referral_view("accepted")
    for key in ("reason", "needs", "external_id", "external_id_system"):
        seen.pop(key)
    task, request = fhir_task(seen), fhir_service_request(seen)
    assert "identifier" not in task and "reasonCode" not in request and "extension" not in request


def test_task_changes_as_json_patch_partial_task_or_put():
    patch = [{"op": "replace", "path": "/status", "value": "cancelled"},
             {"op": "add", "path": "/statusReason",
              "value": c.concept(c.STATUS_REASON_SYSTEM, "no-longer-needed")}]
    assert task_change(patch, "application/json-patch+json") == {
        "status": "cancelled", "reason_code": "no-longer-needed", "reason": None}
    assert task_change({"resourceType": "Task", "status": "in-progress"}, "application/fhir+json")[
        "status"] == "in-progress"
    with pytest.raises(InvalidRequest) as refused:
        task_change([{"op": "replace", "path": "/owner", "value": {}}], "application/json-patch+json")
    assert "Task/owner" in refused.value.errors


# -- the rest ------------------------------------------------------------------------------------

def test_errors_are_operation_outcomes_with_the_stable_codes():
    assert outcome_of(NotFound("No such referral."))[0] == 404
    status, outcome = outcome_of(ConsentRequired("No consent.", reason="consent_revoked"))
    assert status == 403 and outcome["issue"][0]["details"]["coding"][0]["code"] == "consent_required"
    assert outcome_of(MultipleMatches("two"))[0] == 412


def test_transactions_hold_one_referral():
    bundle, _, _ = bundle_parts()
    bundle["entry"].append(copy.deepcopy(bundle["entry"][2]))
    bundle["entry"][0]["request"]["method"] = "PUT"
    with pytest.raises(InvalidRequest) as refused:
        read_transaction(bundle)
    assert set(refused.value.errors) == {"Bundle.entry[0].request", "Bundle.entry[4].resource"}


def test_capability_statement_patient_and_organization_validate():
    statement = capability_statement("http://127.0.0.1:8000/fhir", "2026-12-02")
    validate(statement)
    declared = {r["type"]: {i["code"] for i in r["interaction"]} for r in statement["rest"][0]["resource"]}
    for route in FHIR_ROUTES:
        if route.resource_type:
            assert route.interaction in declared[route.resource_type]
    task = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Task")
    assert {"requester", "owner", "status", "_lastUpdated", "focus", "identifier"} <= {
        p["name"] for p in task["searchParam"]}
    validate(patient(PARTICIPANT))
    validate(organization({"id": PEERS, "name": "Bridge Peer Recovery", "kind": "peer_group"}))
