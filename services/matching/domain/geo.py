"""Great-circle geometry for travel radius and distance.

Two equivalent forms of one distance: ``haversine_km`` for a single pair, and unit vectors for
the vectorized mentor table, where "within the radius" is one dot product per mentor compared with
a precomputed cosine, so no trigonometry runs per mentor at query time.
"""

from __future__ import annotations

import math

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def unit_vector(lat: float, lon: float) -> np.ndarray:
    """A point in degrees as a unit vector (x, y, z)."""
    p, la = math.radians(lat), math.radians(lon)
    return np.array([math.cos(p) * math.cos(la), math.cos(p) * math.sin(la), math.sin(p)])


def cos_reach(km: float) -> float:
    """Cosine of the angle ``km`` spans along the surface: ``dot(a, b) >= cos_reach(km)`` holds
    exactly when the unit vectors ``a`` and ``b`` are at most ``km`` apart."""
    return math.cos(min(km / EARTH_RADIUS_KM, math.pi))


def km_for_dot(dot: np.ndarray) -> np.ndarray:
    """Surface distance between unit vectors whose dot product is ``dot`` (NaN stays NaN).

    Via the chord, which keeps about 0.2 m of precision even for points close together.
    """
    chord2 = np.maximum(2.0 - 2.0 * dot, 0.0)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(chord2) / 2))
