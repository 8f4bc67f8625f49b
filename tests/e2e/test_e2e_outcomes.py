"""Outcome reports on the running network: a funder registered by the operator reads the
de-identified tables (JSON and CSV) of referrals made over HTTP, and of referrals consent refused
by their reason, and is refused every other route; an agency's admin reads its own view. The
outcomes process runs with k = 2 here."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from gateway.fhir.routes import FHIR_ROUTES
from gateway.policy import is_public
from gateway.routes import ROUTES
from network.processes import Client
from tests.harness.journeys import grant_consent, refer, referral_request, wait

pytestmark = pytest.mark.e2e
FUNDER_ROUTES = {"get_outcomes_report", "get_session", "sign_out"}


def concrete(path: str) -> str:
    return re.sub(r"{\w+}", "00000000-0000-4000-8000-000000000000", path)


@pytest.fixture(scope="module")
def funder(network, operator) -> Client:
    return Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Recovery Fund", "kind": "funder", "roles": ["funder"]}))


def test_a_funder_reads_the_outcomes_of_referrals_made_and_no_participant(network, operator, funder):
    # A referrer and a peer group of the test's own: the peer group has no mentor, so both
    # referrals wait in one group (routine, English, no peer group yet).
    hospital = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Outcomes Hospital", "kind": "hospital", "roles": ["referrer", "admin"]}))
    peers = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Outcomes Peers", "kind": "peer_group", "roles": ["coordinator"]}))
    consents = [grant_consent(hospital, classes=(), agencies=(peers.id,)) for _ in range(2)]
    for consent in consents:
        refer(hospital, consent, languages=("en",))
    month = datetime.now(UTC).strftime("%Y-%m")
    query = f"/v1/reports/outcomes?referrer={hospital.id}&measure=referrals_made,waitlist_length"

    def made():
        rows = funder.ok("GET", query)["tables"][0]["rows"]
        return rows if {"month": month, "group": "all", "category": "all", "count": 2} in rows else None

    wait(made, "both referrals in the funder's report")
    report = funder.ok("GET", query + "&by=language")
    assert report["k"] == 2 and report["scope"] == "network"
    assert {"month": month, "group": "en", "category": "all", "count": 2} in report["tables"][0]["rows"]
    csv = funder.request("GET", query, headers={"Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "measure,month,group,category,figure,value"
    assert f"referrals_made,{month},all,all,count,2" in csv.text.splitlines()
    everything = funder.request("GET", "/v1/reports/outcomes").text
    assert not [c for c in consents if c["participant_id"] in everything or c["id"] in everything]
    # The hospital's admin reads its own view; a coordinator reads no report at all.
    own = hospital.ok("GET", query)
    assert own["scope"] == "agency" and own["tables"] == funder.ok("GET", query)["tables"]
    assert peers.request("GET", query).status_code == 403
    bad = funder.request("GET", "/v1/reports/outcomes?by=participant&from=2026-13")
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"by", "from"}


def test_referrals_consent_refused_show_in_the_funders_report_by_reason_and_no_participant(
        network, operator, funder):
    # Consents that do not cover the referral's reason: consent refuses the disclosure
    # (data_class_not_covered) and no referral is made. Two people, so the group is published.
    hospital = Client(network.base_url, operator.ok("POST", "/v1/agencies", {
        "name": "Refused Hospital", "kind": "hospital", "roles": ["referrer", "admin"]}))
    consents = [grant_consent(hospital, data_classes=("demographics", "contact")) for _ in range(2)]
    keys = [str(uuid.uuid4()) for _ in consents]
    answers = []
    for consent, key in [*zip(consents, keys, strict=True), (consents[0], keys[0])]:  # the first twice
        body = referral_request(consent, languages=("es",), urgency="urgent")
        answers.append(hospital.request("POST", "/v1/referrals", body, headers={"Idempotency-Key": key}))
    problems = [answer.json() for answer in answers]
    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert {(p["code"], p["reason"]) for p in problems} == {("consent_required", "data_class_not_covered")}
    assert hospital.ok("GET", "/v1/referrals")["items"] == []
    month = datetime.now(UTC).strftime("%Y-%m")
    query = f"/v1/reports/outcomes?referrer={hospital.id}&measure=consent_refusals"
    refused = {"month": month, "group": "all", "category": "data_class_not_covered", "count": 2}

    def counted():
        rows = funder.ok("GET", query)["tables"][0]["rows"]
        return rows if refused in rows else None

    # The retry under the first key is refused again but counted once: two, never three.
    assert wait(counted, "the refusals in the funder's report") == [
        refused, {**refused, "month": "all"}]
    report = funder.ok("GET", query + "&by=language")
    assert {**refused, "group": "es"} in report["tables"][0]["rows"]
    assert funder.ok("GET", query + "&urgency=routine")["tables"][0]["rows"] == []
    csv = funder.request("GET", query, headers={"Accept": "text/csv"})
    assert f"consent_refusals,{month},all,data_class_not_covered,count,2" in csv.text.splitlines()
    everything = funder.request("GET", "/v1/reports/outcomes").text
    assert not [c for c in consents if c["participant_id"] in everything or c["id"] in everything]
    assert "consent_refusals" in everything
    # The hospital's admin sees its own refusals; they are not consent endings.
    assert hospital.ok("GET", query)["tables"] == funder.ok("GET", query)["tables"]
    endings = f"/v1/reports/outcomes?measure=consent_endings&from={month}"
    assert not [r for r in funder.ok("GET", endings)["tables"][0]["rows"]
                if r["category"] == "data_class_not_covered"]
    assert funder.ok("GET", query)["tables"][0]["rows"] == [refused, {**refused, "month": "all"}]


def test_a_funder_is_refused_every_other_route(funder):
    answered = {}
    for route in ROUTES:
        if is_public(route.operation) or route.operation in FUNDER_ROUTES:
            continue
        body = {} if route.method in ("POST", "PUT", "PATCH") else None
        answered[route.operation] = funder.request(route.method, concrete(route.path), body).status_code
    for route in FHIR_ROUTES:
        if route.roles:
            body = {} if route.method in ("POST", "PUT", "PATCH") else None
            answered[route.operation] = funder.request(route.method, concrete(route.path), body).status_code
    assert {op: status for op, status in answered.items() if status not in (403, 404)} == {}
    assert len(answered) > 60
