"""Distances along the earth: the per-pair and the vectorized forms agree."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.matching.domain.geo import cos_reach, haversine_km, km_for_dot, unit_vector


def test_haversine_gives_known_distances():
    assert haversine_km(40.7128, -74.0060, 42.3601, -71.0589) == pytest.approx(306, abs=2)
    assert haversine_km(40.71, -74.0, 40.71, -74.0) == 0.0
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015, abs=2)


def test_dot_products_give_the_same_distances_and_radius_answers():
    rng = random.Random(3)
    for _ in range(500):
        a = (rng.uniform(-80, 80), rng.uniform(-180, 180))
        b = (a[0] + rng.uniform(-1, 1), a[1] + rng.uniform(-1, 1))
        km = haversine_km(*a, *b)
        dot = float(unit_vector(*a) @ unit_vector(*b))
        assert float(km_for_dot(np.array([dot]))[0]) == pytest.approx(km, abs=1e-3)
        assert (dot >= cos_reach(km * 1.001)) and not (dot >= cos_reach(km * 0.999))


def test_an_unknown_position_is_never_near():
    assert np.isnan(km_for_dot(np.array([np.nan]))[0])
    assert not np.nan >= cos_reach(1000)
