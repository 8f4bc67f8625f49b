"""The fault tests' checker counts lost, duplicated, unexpected and unanswered creations."""

from __future__ import annotations

from tests.harness.checker import KeyedCreations


def test_the_checker_counts_what_a_faulty_network_would_do():
    log = KeyedCreations()
    for key, object_id in (("k1", "r1"), ("k2", "r2"), ("k3", "r3")):
        log.record(key, 201, object_id)
    log.record("k4", 503)
    verdict = log.verdict([("r1", "k1"), ("r2", "k2"), ("r2b", "k2"), ("r9", "stranger")])
    assert verdict.lost == {"k3": "r3"}
    assert verdict.duplicated == {"k2": ["r2", "r2b"]}
    assert verdict.unexpected == ["r9"]
    assert verdict.unanswered == ["k4"] and not verdict.ok


def test_a_clean_run_is_ok():
    log = KeyedCreations()
    log.record("k1", 503)
    log.record("k1", 201, "r1")
    assert log.verdict([("r1", "k1")]).ok


def test_an_object_that_never_settled_is_lost_and_two_live_matches_are_doubled():
    log = KeyedCreations()
    log.record("k1", 201, "r1")
    log.record("k2", 201, "r2")
    held = [("r1", "k1"), ("r2", "k2")]
    verdict = log.verdict(held, settled=["r1"], live_matches=[("m1", "r1"), ("m2", "r1"), ("m3", "r2")])
    assert verdict.lost == {"k2": "r2"}
    assert verdict.doubled_matches == {"r1": ["m1", "m2"]}
    assert not verdict.ok
    assert log.verdict(held, settled=["r1", "r2"], live_matches=[("m1", "r1")]).ok
