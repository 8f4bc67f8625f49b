"""The outcome tables of a seeded event history, worked out by hand (k = 3)."""

from __future__ import annotations

import json
import random
from collections import defaultdict

from services.outcomes.domain.disclosure import ReportRequest, report
from services.outcomes.domain.facts import fact_of, participant_ref
from services.outcomes.domain.measures import members
from services.outcomes.domain.projection import consent_ending_row, consent_refusal_row, referral_row
from tests.unit.outcomes.history import AS_OF, K, participant, seeded_history


def read_model(events):
    """The read model's rows: referrals, consent endings and consent refusals."""
    by_referral = defaultdict(list)
    endings, refusals = [], []
    for fact in map(fact_of, events):
        if fact.referral_id:
            by_referral[fact.referral_id].append(fact)
        elif fact.type == "referral.refused":
            refusals.append(consent_refusal_row(fact))
        else:
            endings.append(consent_ending_row(fact))
    return [referral_row(r, facts) for r, facts in by_referral.items()], endings, refusals


def tables(events=None, **asked):
    model = read_model(seeded_history() if events is None else events)
    request = ReportRequest(k=K, **asked)
    return {t["measure"]: t["rows"] for t in report(members(*model, AS_OF), request)}


def row(month, group="all", category="all", **figures):
    return {"month": month, "group": group, "category": category, **figures}


def test_the_network_view_of_the_seeded_history():
    got = tables()
    # Two urgent referrals in January are too few to publish: they are in no figure, totals included.
    assert got["referrals_made"] == [row("2026-01", count=4), row("2026-02", count=3), row("all", count=7)]
    assert got["time_to_proposal"] == [
        row("2026-01", median_days=2.5, p90_days=4.0), row("2026-02", median_days=28.0, p90_days=33.0),
        row("all", median_days=4.0, p90_days=33.0)]
    assert got["time_to_acceptance"] == [row("2026-01", median_days=3.5, p90_days=5.0),
                                         row("all", median_days=3.5, p90_days=5.0)]
    assert got["time_to_first_contact"] == [row("2026-01", median_days=4.5, p90_days=6.0),
                                            row("all", median_days=4.5, p90_days=6.0)]
    assert got["waitlist_length"] == [row("2026-02", count=3)]
    assert got["waitlist_wait"] == [row("2026-03", median_days=28.0, p90_days=33.0),
                                    row("all", median_days=28.0, p90_days=33.0)]
    # One cancellation in April and two urgent ones in January stay out.
    assert got["closures"] == [row("2026-04", category="completed/none", count=3, share=1.0),
                               row("all", category="completed/none", count=3, share=1.0)]
    # 60 days: three engaged; the one who was not is too few to publish, so the share is of the three.
    assert got["engagement"] == [
        row("2026-01", category="30d", share=1.0), row("2026-01", category="60d", share=1.0),
        row("2026-01", category="90d", share=0.0), row("all", category="30d", share=1.0),
        row("all", category="60d", share=1.0), row("all", category="90d", share=0.0)]
    assert got["barc_change"] == [row("2026-01", mean=7.8, median=8.5), row("all", mean=7.8, median=8.5)]
    assert got["mentor_caseload"] == [row(m, active=4, per_mentor=2.0)
                                      for m in ("2026-01", "2026-02", "2026-03")]
    assert got["consent_endings"] == [row("2026-05", category="revoked", count=3),
                                      row("all", category="revoked", count=3)]
    # Refused as made: three for an expired consent in March; the two revoked ones, and April's
    # three refusals of two people, are too few to publish.
    assert got["consent_refusals"] == [row("2026-03", category="expired", count=3),
                                       row("all", category="expired", count=3)]


def test_consent_refusals_by_reason_break_down_and_belong_to_their_referrers_view():
    got = tables(by="language", measures=("consent_refusals",))["consent_refusals"]
    assert got == [row("2026-03", "en", "expired", count=3), row("2026-03", category="expired", count=3),
                   row("all", "en", "expired", count=3), row("all", category="expired", count=3)]
    by_urgency = tables(by="urgency", measures=("consent_refusals",))["consent_refusals"]
    assert row("2026-03", "routine", "expired", count=3) in by_urgency
    assert tables(by="peer_group", measures=("consent_refusals",))["consent_refusals"][0] == row(
        "2026-03", "none", "expired", count=3)  # refused before any peer group was chosen
    assert tables(agency_id="h-1", measures=("consent_refusals",))["consent_refusals"] == [
        row("2026-03", category="expired", count=3), row("all", category="expired", count=3)]
    assert tables(agency_id="g-1", measures=("consent_refusals",))["consent_refusals"] == []
    assert tables(filters={"language": frozenset({"es"})}, measures=("consent_refusals",)) == {
        "consent_refusals": []}
    # With k = 1 every refusal counts (April's three are refusals of two people).
    everything = report(members(*read_model(seeded_history()), AS_OF),
                        ReportRequest(k=1, measures=("consent_refusals",)))[0]["rows"]
    assert [r for r in everything if r["month"] == "all"] == [
        row("all", category="data_class_not_covered", count=3), row("all", category="expired", count=3),
        row("all", category="revoked", count=2)]


def test_consent_endings_and_consent_refusals_count_different_things():
    """An ending is a consent that stopped covering (revoked, expired); a refusal is a referral
    consent would not let be made. Neither measure counts the other's events."""
    refusals_only = [e for e in seeded_history() if e.type == "referral.refused"]
    endings_only = [e for e in seeded_history() if e.type in ("consent.revoked", "consent.expired")]
    assert tables(refusals_only)["consent_endings"] == []
    assert tables(refusals_only)["consent_refusals"] != []
    assert tables(endings_only)["consent_refusals"] == []
    assert tables(endings_only)["consent_endings"] != []


def test_a_breakdown_adds_its_groups_and_totals_that_are_their_sums():
    got = tables(by="language", measures=("referrals_made", "waitlist_length"))
    assert got["referrals_made"] == [
        row("2026-01", "en", count=4), row("2026-01", count=4), row("2026-02", "es", count=3),
        row("2026-02", count=3), row("all", "en", count=4), row("all", "es", count=3), row("all", count=7)]
    assert got["waitlist_length"] == [row("2026-02", "es", count=3), row("2026-02", count=3)]


def test_filters_months_and_an_agency_view_narrow_the_same_published_groups():
    assert tables(filters={"urgency": frozenset({"urgent"})}, measures=("referrals_made",)) == {
        "referrals_made": []}
    assert tables(months=("2026-02", "2026-02"), measures=("referrals_made",))["referrals_made"] == [
        row("2026-02", count=3), row("all", count=3)]
    mine = tables(agency_id="g-1", measures=("referrals_made", "consent_endings"))
    assert mine["referrals_made"] == [row("2026-01", count=4), row("2026-02", count=3), row("all", count=7)]
    assert mine["consent_endings"] == []  # consents belong to no agency's referrals
    assert tables(agency_id="elsewhere", measures=("referrals_made",))["referrals_made"] == []


def test_with_k_one_every_referral_counts():
    (made,) = report(members(*read_model(seeded_history()), AS_OF),
                     ReportRequest(k=1, measures=("referrals_made",)))
    assert made["rows"][-1] == row("all", count=9)


def test_the_tables_do_not_depend_on_the_order_events_arrived_in():
    events = seeded_history()
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    assert tables(shuffled) == tables(events)


def test_no_report_carries_a_participant_id_or_its_digest():
    events = seeded_history()
    model = read_model(events)
    people = [*range(1, 10), *range(11, 18)]
    secrets = {participant(n) for n in people} | {participant_ref(participant(n)) for n in people}
    secrets |= {e.payload["consent_id"] for e in events if "consent_id" in e.payload}
    for by in (None, "urgency", "referrer", "peer_group", "language"):
        text = json.dumps(report(members(*model, AS_OF), ReportRequest(k=1, by=by)))
        assert not [s for s in secrets if s in text]


def test_the_event_log_keeps_codes_and_ids_never_the_participant_id_or_criteria():
    for event in seeded_history():
        fact = fact_of(event)
        stored = json.dumps({**fact.facts, "ref": fact.participant_ref})
        assert "participant_id" not in fact.facts and "criteria" not in fact.facts
        if "participant_id" in event.payload:
            assert event.payload["participant_id"] not in stored
