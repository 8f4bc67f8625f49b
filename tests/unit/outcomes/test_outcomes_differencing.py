"""A differencing attack on the published tables: every pair of reports whose filters differ by
one group, every breakdown against its totals, an agency's view against the network's. No
difference of published counts may describe fewer than k participants, in any count measure:
referrals made, consent endings, consent refusals, waitlists, caseloads, closures."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

from services.outcomes.domain.disclosure import ReportRequest, atoms, participants, report
from services.outcomes.domain.measures import DIMENSIONS, members
from tests.unit.outcomes.history import (
    AS_OF,
    assessment,
    at,
    checkin,
    consent_ended,
    contact,
    match,
    refused,
    requested,
    seeded_history,
    status,
    waitlisted,
)
from tests.unit.outcomes.test_outcomes_tables import read_model

COUNTS = ("count", "active")
K = 5


def busy_history(seed: int = 18) -> list:
    """About 150 referrals over four months, in unevenly sized groups: many of them small."""
    rng = random.Random(seed)
    events = seeded_history()
    for n in range(100, 250):
        r, req = f"x{n}", at(rng.choice((1, 2, 3, 4)), rng.randint(1, 25), rng.randint(8, 17))
        urgency = rng.choices(("routine", "urgent"), (4, 1))[0]
        referrer = rng.choices(("h-1", "h-2"), (3, 1))[0]
        group = rng.choices(("g-1", "g-2"), (3, 1))[0]
        events.append(requested(r, n, req, urgency, rng.choices(("en", "es", "vi"), (6, 3, 1))[0], referrer))
        fate = rng.random()
        if fate < 0.2:
            events.append(waitlisted(r, req + timedelta(hours=1), urgency))
        if fate < 0.85:
            proposed = req + timedelta(days=rng.randint(0, 20), hours=2)
            events.append(match("match.proposed", r, proposed, f"m-{rng.randint(1, 6)}", urgency, group))
            if fate < 0.7:
                handoff = proposed + timedelta(days=rng.randint(1, 5))
                events += [match("match.accepted", r, handoff, f"m-{rng.randint(1, 6)}", urgency, group),
                           status(r, n, handoff, "accepted", urgency, assigned=group, referrer=referrer),
                           assessment(r, handoff + timedelta(days=1), "handoff", rng.randint(20, 50)),
                           assessment(r, handoff + timedelta(days=90), "day90", rng.randint(20, 60))]
                for day in rng.sample(range(1, 90), rng.randint(0, 4)):
                    events.append(rng.choice((contact, checkin))(r, handoff + timedelta(days=day)))
                if rng.random() < 0.6:
                    events.append(status(r, n, handoff + timedelta(days=rng.randint(10, 100)),
                                         rng.choice(("completed", "failed", "cancelled")), urgency,
                                         reason=rng.choice((None, "capacity", "unable-to-contact")),
                                         assigned=group, frm="in-progress", referrer=referrer))
        if rng.random() < 0.15:
            ended = req + timedelta(days=rng.randint(1, 60))
            events.append(consent_ended(n, ended, expired=rng.random() < 0.3))
    for n in range(300, 420):  # referrals consent refused, some people more than once
        who = n if rng.random() < 0.85 else rng.randint(300, n)
        events.append(refused(who, at(rng.choice((1, 2, 3, 4)), rng.randint(1, 25), rng.randint(8, 17)),
                              rng.choices(("expired", "revoked", "data_class_not_covered"), (5, 3, 1))[0],
                              rng.choices(("routine", "urgent"), (4, 1))[0],
                              rng.choices(("en", "es", "vi", None), (6, 3, 1, 1))[0],
                              rng.choices(("h-1", "h-2"), (3, 1))[0]))
    return events


@pytest.fixture(scope="module")
def history():
    return members(*read_model(busy_history()), AS_OF)


@pytest.fixture(scope="module")
def attacked(history):
    """Every difference the attack finds, with k = K and with nothing suppressed (k = 1)."""
    return {k: list(differences(history, k)) for k in (K, 1)}


def counts(tables) -> dict[tuple, int]:
    return {(t["measure"], r["month"], r["group"], r["category"], f): r[f]
            for t in tables for r in t["rows"] for f in t["figures"] if f in COUNTS}


def neighbouring_filters(values: dict[str, list[str]]):
    """Every pair of filters on one dimension that differ by one group (no filter = every group)."""
    for dim, groups in values.items():
        for size in range(1, len(groups)):
            for chosen in itertools.combinations(groups, size):
                for extra in groups:
                    if extra not in chosen:
                        wider = frozenset((*chosen, extra))
                        yield ({dim: frozenset(chosen)},
                               {dim: wider} if len(wider) < len(groups) else {})


def differences(history, k: int):
    """Every difference of published counts between neighbouring reports, and of totals against
    the sums of their groups."""
    values = {dim: sorted({m.dim(dim) for m in history if m.dim(dim) != "n/a"}) for dim in DIMENSIONS}
    scopes = (None, "g-2", "h-2")
    for by, scope in itertools.product((None, *DIMENSIONS), scopes):
        for narrow, wide in neighbouring_filters(values):
            a = counts(report(history, ReportRequest(k=k, filters=narrow, by=by, agency_id=scope)))
            b = counts(report(history, ReportRequest(k=k, filters=wide, by=by, agency_id=scope)))
            for key in a.keys() | b.keys():
                yield key[0], b.get(key, 0) - a.get(key, 0)
    for by in (None, *DIMENSIONS):
        network = counts(report(history, ReportRequest(k=k, by=by)))
        for scope in scopes[1:]:
            mine = counts(report(history, ReportRequest(k=k, by=by, agency_id=scope)))
            for key in network.keys() | mine.keys():
                yield key[0], network.get(key, 0) - mine.get(key, 0)


def test_the_history_has_groups_smaller_than_k_for_an_attacker_to_look_for(history):
    for measure in (None, "consent_refusals"):
        sizes = [participants(atom) for key, atom in atoms(history).items() if measure in (None, key[0])]
        assert any(0 < size < K for size in sizes) and any(size >= K for size in sizes), measure


def test_without_suppression_the_attack_finds_small_groups(attacked):
    """The same attack with k = 1 (nothing suppressed) does recover counts below K, refusals too."""
    assert any(0 < abs(d) < K for _, d in attacked[1])
    assert any(0 < abs(d) < K for measure, d in attacked[1] if measure == "consent_refusals")


def test_no_pair_of_reports_differing_by_one_group_reveals_fewer_than_k(attacked):
    found = attacked[K]
    assert len(found) > 1000
    assert [d for _, d in found if 0 < abs(d) < K] == []
    # The attack reached the refusals' published counts, not only empty tables.
    assert sum(1 for measure, d in found if measure == "consent_refusals" and d) > 100


def test_every_published_count_describes_k_or_more_and_totals_are_the_sums_of_their_groups(history):
    for by in DIMENSIONS:
        for table in report(history, ReportRequest(k=K, by=by)):
            sums: dict[tuple, int] = {}
            totals: dict[tuple, int] = {}
            for row in table["rows"]:
                for figure in (f for f in table["figures"] if f in COUNTS):
                    assert row[figure] >= K
                    key = (row["month"], row["category"], figure)
                    if row["group"] == "all":
                        totals[key] = row[figure]
                    else:
                        sums[key] = sums.get(key, 0) + row[figure]
            assert sums == totals, table["measure"]
