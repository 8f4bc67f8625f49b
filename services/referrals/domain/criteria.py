"""Turn a referral's needs into the coarse matching criteria that may leave the referrals service.

``referral.requested`` carries criteria only: languages, preferences, a location rounded to about a
kilometre, a 5-year age band, availability and whether remote meetings suit. The exact age and
location, names, contact details and the clinician's reason never leave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

AGE_BAND_YEARS = 5
LOCATION_DECIMALS = 2  # about 1.1 km of latitude: enough to match on travel radius


def age_band(age: int | None) -> int | None:
    """The lower bound of the 5-year band containing ``age`` (36 → 35), or None when unknown."""
    if age is None:
        return None
    return (int(age) // AGE_BAND_YEARS) * AGE_BAND_YEARS


def coarse_location(location: Mapping[str, Any] | None) -> dict[str, float] | None:
    """``{"lat", "lon"}`` rounded to two decimals, or None when no location was given."""
    if not location:
        return None
    return {
        "lat": round(float(location["lat"]), LOCATION_DECIMALS),
        "lon": round(float(location["lon"]), LOCATION_DECIMALS),
    }


def _distinct(values: Iterable[str] | None, *, lower: bool = False) -> list[str]:
    seen: list[str] = []
    for value in values or ():
        value = value.lower() if lower else value
        if value not in seen:
            seen.append(value)
    return seen


def criteria_from_needs(needs: Mapping[str, Any]) -> dict[str, Any]:
    """The matching criteria for ``needs`` as the API accepts them.

    Keeps only the criteria fields, coarsened; any other key in ``needs`` is dropped. Raises
    ``KeyError``/``ValueError`` only for a location without numeric lat and lon, which request
    validation rules out.
    """
    gender = needs.get("mentor_gender")
    return {
        "languages": _distinct(needs.get("languages"), lower=True),
        "mentor_gender": gender,
        # A requirement without a preference means nothing to matching.
        "mentor_gender_required": bool(needs.get("mentor_gender_required")) and gender is not None,
        "pathways": _distinct(needs.get("pathways")),
        "lived_experience": _distinct(needs.get("lived_experience")),
        "age_band": age_band(needs.get("age")),
        "location": coarse_location(needs.get("location")),
        "remote_ok": bool(needs.get("remote_ok", True)),
        "availability": _distinct(needs.get("availability")),
    }
