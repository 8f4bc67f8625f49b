"""The consent promise through the front door, on real processes and PostgreSQL: refusals say
why (to the agencies the consent names), disclosers must attest, widened terms are denied,
end of treatment ends a consent, malformed ids write nothing, and the handoff's summary names
the consent's scope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, update

from services.consent.adapters.orm import consents as consent_rows
from services.consent.adapters.orm import ledger as ledger_rows
from tests.harness.journeys import (
    consent_request,
    mentor,
    proposed_match,
    referral,
    referral_request,
    wait,
)

pytestmark = pytest.mark.e2e


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def mentors(agencies):
    for n in range(3):
        agencies["peers_a"].ok("POST", "/v1/mentors", mentor(500 + n, capacity=20))
        agencies["peers_b"].ok("POST", "/v1/mentors", mentor(600 + n, capacity=20))


@pytest.fixture(scope="module")
def consent_db(network):
    engine = create_engine(network.env["CONSENT_DATABASE_URL"])
    yield engine
    engine.dispose()


def granted(referrer, **changes) -> dict:
    """A consent the referrer records, with top-level fields of the body replaced."""
    body = {**consent_request(referrer.id), **changes}
    return referrer.ok("POST", "/v1/consents", {k: v for k, v in body.items() if v is not None},
                       headers={"Idempotency-Key": str(uuid.uuid4())})


def referring(referrer, consent: dict, **changes):
    body = {**referral_request(consent), **changes}
    return referrer.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": str(uuid.uuid4())})


def refusal(response) -> str:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == "consent_required", body
    return body["reason"]


def ledger_size(operator) -> int:
    """How many ledger rows there are (pages of 1000)."""
    count, page = 0, ""
    while True:
        answer = operator.ok("GET", f"/v1/audit/ledger?limit=1000{page}")
        count += len(answer["items"])
        if not answer["next_page"]:
            return count
        page = f"&page={answer['next_page']}"


# -- 4: each refusal reason, told to the agency holding the consent ---------------------------

def _expired(hospital, clinic):
    consent = granted(hospital, valid_until=iso(datetime.now(UTC) + timedelta(seconds=2)))
    wait(lambda: datetime.now(UTC) > datetime.fromisoformat(consent["valid_until"]), "the end date")
    return hospital, consent, {}


def _not_yet_valid(hospital, clinic):
    start = datetime.now(UTC) + timedelta(days=1)
    return hospital, granted(hospital, valid_from=iso(start), valid_until=iso(start + timedelta(days=30))), {}


def _revoked(hospital, clinic):
    consent = granted(hospital)
    hospital.ok("POST", f"/v1/consents/{consent['id']}/revoke", {"reason": "asked to stop"})
    return hospital, consent, {}


def _discloser_not_covered(hospital, clinic):
    # Named by the hospital, the clinic has not attested: it is told why, and can act on it.
    return clinic, granted(hospital, disclosers=[hospital.id, clinic.id]), {}


def _recipient_not_covered(hospital, clinic):
    return hospital, granted(hospital, recipients={"agencies": [], "classes": ["clinic"]}), {}


def _purpose_not_covered(hospital, clinic):
    return hospital, granted(hospital, purposes=["treatment"]), {}


def _data_class_not_covered(hospital, clinic):
    return hospital, granted(hospital, data_classes=["demographics", "contact"]), {}


def _participant_mismatch(hospital, clinic):
    other = granted(hospital)
    return hospital, granted(hospital), {"participant_id": other["participant_id"]}


def _consent_not_found(hospital, clinic):
    return hospital, granted(hospital), {"consent_id": str(uuid.uuid4())}


REFUSALS = {
    "expired": _expired, "not_yet_valid": _not_yet_valid, "revoked": _revoked,
    "discloser_not_covered": _discloser_not_covered, "recipient_not_covered": _recipient_not_covered,
    "purpose_not_covered": _purpose_not_covered, "data_class_not_covered": _data_class_not_covered,
    "participant_mismatch": _participant_mismatch, "consent_not_found": _consent_not_found,
}


@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_a_refused_referral_tells_the_consent_holder_why(agencies, reason):
    hospital, clinic = agencies["hospital"], agencies["clinic"]
    asking, consent, changes = REFUSALS[reason](hospital, clinic)

    assert refusal(referring(asking, consent, **changes)) == reason


def test_an_agency_the_consent_does_not_name_is_told_consent_not_found(agencies):
    hospital, sober = agencies["hospital"], agencies["sober_living"]
    consent = granted(hospital, purposes=["treatment"])

    assert refusal(referring(hospital, consent)) == "purpose_not_covered"
    assert refusal(referring(sober, consent)) == "consent_not_found"


# -- 5: the recording agency discloses; others attest first ------------------------------------

def test_a_named_discloser_refers_only_after_it_attests(agencies, mentors):
    hospital, clinic, sober = agencies["hospital"], agencies["clinic"], agencies["sober_living"]
    spoofed = hospital.request("POST", "/v1/consents", consent_request(clinic.id),
                               headers={"Idempotency-Key": str(uuid.uuid4())})
    assert spoofed.status_code == 422 and "disclosers" in spoofed.json()["errors"]

    consent = granted(hospital, disclosers=[hospital.id, clinic.id])
    assert consent["attested_disclosers"] == [hospital.id]
    assert refusal(referring(clinic, consent)) == "discloser_not_covered"
    assert sober.request("POST", f"/v1/consents/{consent['id']}/attestations").status_code == 404
    assert agencies["peers_a"].request(
        "POST", f"/v1/consents/{consent['id']}/attestations").status_code == 403

    attested = clinic.ok("POST", f"/v1/consents/{consent['id']}/attestations")

    assert attested["attested_disclosers"] == [hospital.id, clinic.id]
    assert referring(clinic, consent).status_code == 201


def test_attestations_are_ledgered(agencies, operator):
    hospital, clinic = agencies["hospital"], agencies["clinic"]
    consent = granted(hospital, disclosers=[hospital.id, clinic.id])
    clinic.ok("POST", f"/v1/consents/{consent['id']}/attestations")

    rows = operator.ok("GET", f"/v1/audit/ledger?participant={consent['participant_id']}")["items"]

    # Each row names the agency that acted and who acted in it (here each agency's machine key).
    assert [(r["action"], r["agency_id"]) for r in rows] == [
        ("consent.granted", hospital.id), ("consent.attested", clinic.id)]
    assert all(r["actor"].startswith("key:") for r in rows)


# -- 7: terms widened in the database are denied, loudly ---------------------------------------

WIDENINGS = {
    "data classes": ({"data_classes": ["demographics", "contact"]},
                     lambda s: {**s, "data_classes": [*s["data_classes"], "referral-reason"]}),
    "recipients": ({"recipients": {"agencies": [], "classes": ["clinic"]}},
                   lambda s: {**s, "recipients": {"agencies": [], "classes": ["clinic", "peer_group"]}}),
    "dates": ({"valid_from": iso(datetime.now(UTC) + timedelta(days=1)),
               "valid_until": iso(datetime.now(UTC) + timedelta(days=30))},
              lambda s: {**s, "valid_from": iso(datetime.now(UTC) - timedelta(days=1))}),
}


@pytest.mark.parametrize("widened", sorted(WIDENINGS))
def test_a_consent_widened_in_the_database_is_denied(network, agencies, consent_db, widened):
    hospital = agencies["hospital"]
    changes, widen = WIDENINGS[widened]
    consent = granted(hospital, **changes)
    with consent_db.begin() as db:
        snapshot = db.execute(select(consent_rows.c.snapshot)
                              .where(consent_rows.c.id == consent["id"])).scalar_one()
        db.execute(update(consent_rows).where(consent_rows.c.id == consent["id"])
                   .values(snapshot=widen(snapshot)))

    assert refusal(referring(hospital, consent)) == "consent_not_found"
    log = network.tail("consent", 400)
    alerts = [line for line in log.splitlines() if "ALERT" in line and consent["id"] in line]
    assert alerts  # an ERROR record (its level is checked in the unit tests)
    assert "Canary" not in "\n".join(alerts)


# -- 8: end of treatment -----------------------------------------------------------------------

def test_the_holder_ends_a_consent_with_treatment_and_it_has_a_latest_end(agencies):
    hospital, clinic = agencies["hospital"], agencies["clinic"]
    consent = granted(hospital, valid_until=None, expires_on="end-of-treatment",
                      disclosers=[hospital.id, clinic.id])
    start = datetime.fromisoformat(consent["valid_from"])
    assert datetime.fromisoformat(consent["valid_until"]) == start + timedelta(days=365)
    path = f"/v1/consents/{consent['id']}/end-of-treatment"

    assert clinic.request("POST", path).status_code == 403  # a discloser, not the holder
    assert agencies["sober_living"].request("POST", path).status_code == 404
    ended = hospital.ok("POST", path)

    assert ended["status"] == "expired"
    assert refusal(referring(hospital, consent)) == "expired"
    dated = granted(hospital)
    assert hospital.request("POST", f"/v1/consents/{dated['id']}/end-of-treatment").status_code == 409


# -- 9: malformed ids write nothing --------------------------------------------------------------

def test_malformed_participant_and_consent_ids_are_refused_before_anything_is_ledgered(agencies, operator):
    hospital = agencies["hospital"]
    consent = granted(hospital)
    before = ledger_size(operator)
    bad = "not-a-uuid'--"
    calls = [
        (hospital, "GET", f"/v1/participants/{bad}/disclosures", None),
        (hospital, "GET", f"/v1/consents/{bad}", None),
        (hospital, "POST", f"/v1/consents/{bad}/revoke", {"reason": "x"}),
        (hospital, "POST", f"/v1/consents/{bad}/attestations", None),
        (hospital, "POST", f"/v1/consents/{bad}/end-of-treatment", None),
        (operator, "GET", f"/v1/audit/ledger?participant={bad}", None),
        (hospital, "POST", "/v1/referrals", {**referral_request(consent), "participant_id": bad}),
        (hospital, "POST", "/v1/referrals", {**referral_request(consent), "consent_id": bad}),
    ]
    for client, method, path, body in calls:
        headers = {"Idempotency-Key": str(uuid.uuid4())} if path == "/v1/referrals" else None
        answer = client.request(method, path, body, headers=headers)
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.json()["code"] == "invalid_request"

    assert ledger_size(operator) == before


# -- 11: the 2.32 summary with a disclosure ------------------------------------------------------

def test_the_handoff_summary_names_the_scope_the_peer_group_must_respect(agencies, mentors):
    hospital = agencies["hospital"]
    coordinators = [agencies["peers_a"], agencies["peers_b"]]
    consent = granted(hospital, recipients={"agencies": [c.id for c in coordinators], "classes": []})
    created = referring(hospital, consent).json()
    coordinator, match = wait(lambda: proposed_match(coordinators, created["id"]), "a proposal")
    coordinator.ok("POST", f"/v1/matches/{match['id']}/accept")
    wait(lambda: referral(hospital, created["id"])["handoff_available"], "the handoff")

    summary = coordinator.ok("GET", f"/v1/referrals/{created['id']}/handoff")["consent"]

    assert summary["disclosers"] == [{"id": hospital.id, "name": "St. Mary Hospital"}]
    assert summary["recipients"] == {"agencies": [
        {"id": coordinators[0].id, "kind": "peer_group", "name": "Bridge Peer Recovery"},
        {"id": coordinators[1].id, "kind": "peer_group", "name": "Comunidad en Recuperación"},
    ], "classes": []}
    assert summary["purposes"] == ["peer-support-referral"]
    assert summary["data_classes"] == ["demographics", "contact", "referral-reason"]
    assert summary["period"] == {"start": consent["valid_from"], "end": consent["valid_until"],
                                 "ends_with": None}


def test_ledger_rows_of_a_decision_hold_no_personal_details(consent_db, agencies):
    consent = granted(agencies["hospital"], purposes=["treatment"])
    referring(agencies["hospital"], consent)
    with consent_db.connect() as db:
        details = db.execute(select(ledger_rows.c.details).where(
            ledger_rows.c.participant_id == consent["participant_id"])).scalars().all()
    assert details and not any("Canary" in text for text in details)
