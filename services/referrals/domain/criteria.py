"""Turn a referral's needs into the coarse matching criteria that may leave the referrals service.

``referral.requested`` carries criteria only: languages, preferences, a location rounded to about a
kilometre, a 5-year age band, availability and whether remote meetings suit. The exact age and
location, names, contact details and the clinician's reason never leave (docs/events.md).
Criteria that reveal substance use (lived experience, the medication-assisted pathway) leave only
when the consent covers ``substance-use`` for the network; otherwise they are left out and
``substance_use_shared`` says so, identically whether the referral named any or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.kit.vocabulary import SUBSTANCE_USE_PATHWAYS, lived_experience_codes

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


def criteria_from_needs(needs: Mapping[str, Any], *, substance_use: bool = True) -> dict[str, Any]:
    """The matching criteria for ``needs`` as the API accepts them (docs/api.md, "Referrals").

    Keeps only the criteria fields, coarsened; any other key in ``needs`` is dropped. Without
    ``substance_use`` (the consent does not cover it for the network) lived experience and the
    medication-assisted pathway are left out. Raises ``KeyError``/``ValueError`` only for a
    location without numeric lat and lon, which request validation rules out.
    """
    gender = needs.get("mentor_gender")
    pathways = _distinct(needs.get("pathways"))
    lived = lived_experience_codes(needs.get("lived_experience"))
    if not substance_use:
        pathways = [p for p in pathways if p not in SUBSTANCE_USE_PATHWAYS]
        lived = []
    return {
        "languages": _distinct(needs.get("languages"), lower=True),
        "mentor_gender": gender,
        # A requirement without a preference means nothing to matching.
        "mentor_gender_required": bool(needs.get("mentor_gender_required")) and gender is not None,
        "pathways": pathways,
        "lived_experience": lived,
        "age_band": age_band(needs.get("age")),
        "location": coarse_location(needs.get("location")),
        "remote_ok": bool(needs.get("remote_ok", True)),
        "availability": _distinct(needs.get("availability")),
        "substance_use_shared": substance_use,
    }


def first_language(needs: Mapping[str, Any]) -> str | None:
    """The first language ``needs`` names, as the criteria carry it (lower case), or None."""
    languages = _distinct(needs.get("languages"), lower=True)
    return languages[0] if languages else None


def stored_needs(needs: Mapping[str, Any]) -> dict[str, Any]:
    """Needs as stored, lived experience read as codes (words from before the vocabulary map
    through ``vocabulary.lived_experience_codes``; a word without a code is dropped)."""
    read = dict(needs)
    if "lived_experience" in read:
        read["lived_experience"] = lived_experience_codes(read["lived_experience"])
    return read


def substance_use_needs(needs: Mapping[str, Any]) -> dict[str, Any]:
    """``needs`` without what reveals substance use (for a recipient not covered for it)."""
    kept = dict(needs)
    kept["lived_experience"] = []
    kept["pathways"] = [p for p in needs.get("pathways") or () if p not in SUBSTANCE_USE_PATHWAYS]
    return kept
