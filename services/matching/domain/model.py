"""Mentors and the matching criteria of a referral: plain, immutable values.

Field names follow the event contract (``services.kit.contract``): ``ReferralCriteria`` reads a
``referral.requested`` payload and writes one back field for field. Tags (languages, gender, lived
experience) are compared case-insensitively, so they are stored trimmed and lower-case, and as
sets: the order of a list carries no meaning here.
Constructors raise ``ValueError`` for values outside the vocabularies or ranges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.kit.vocabulary import AGENCY_KINDS, PATHWAYS, SLOTS, URGENCIES, lived_experience_codes
from services.matching.domain.ladder import LEVELS, effective_capacity

AGE_BAND_YEARS = 5
PEER_GROUP = "peer_group"


@dataclass(frozen=True)
class Location:
    """A point in degrees; referrals carry it rounded to two decimals (about a kilometre)."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"location out of range: {self.lat}, {self.lon}")

    @classmethod
    def from_dict(cls, value: Mapping[str, float] | None) -> Location | None:
        return None if value is None else cls(float(value["lat"]), float(value["lon"]))

    def to_dict(self) -> dict[str, float]:
        return {"lat": self.lat, "lon": self.lon}


def _tags(values: Iterable[str] | None) -> frozenset[str]:
    return frozenset(t for t in (str(v).strip().lower() for v in values or ()) if t)


def _lived(values: Iterable[str] | None) -> frozenset[str]:
    # Codes; words stored before lived experience was a vocabulary read as their codes.
    return frozenset(lived_experience_codes(values))


def _closed(name: str, values: Iterable[str] | None, vocabulary: tuple[str, ...]) -> frozenset[str]:
    chosen = frozenset(values or ())
    unknown = chosen - set(vocabulary)
    if unknown:
        raise ValueError(f"unknown {name}: {sorted(unknown)}")
    return chosen


def age_band(age: int) -> int:
    """Lower bound of the five-year band that holds ``age`` (36 -> 35)."""
    return age - age % AGE_BAND_YEARS


@dataclass(frozen=True, kw_only=True)
class Mentor:
    """A peer mentor of a peer group, as matching needs them (no contact details)."""

    id: str
    agency_id: str
    languages: frozenset[str]
    certified_until: date
    display_name: str = ""
    gender: str | None = None
    age: int | None = None
    pathways: frozenset[str] = field(default_factory=frozenset)
    lived_experience: frozenset[str] = field(default_factory=frozenset)
    location: Location | None = None
    radius_km: float = 0.0
    remote_ok: bool = False
    availability: frozenset[str] = field(default_factory=frozenset)
    capacity: int = 1
    caseload: int = 0
    active: bool = True
    agency_kind: str = PEER_GROUP  # only peer groups register mentors today
    level: str | None = None  # on the ladder (``LEVELS``); None: not placed, no level cap
    supervisor: str | None = None  # a person id of the peer group or a name-free reference
    # The caseload cap of the mentor's level as this deployment configures it (``LevelCaps``);
    # None: no cap beyond their own capacity. Not stored: caps are config.
    level_cap: int | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__  # frozen: normalise once, here
        put(self, "languages", _tags(self.languages))
        put(self, "lived_experience", _lived(self.lived_experience))
        put(self, "gender", (self.gender or "").strip().lower() or None)
        put(self, "pathways", _closed("pathways", self.pathways, PATHWAYS))
        put(self, "availability", _closed("availability slots", self.availability, SLOTS))
        if self.agency_kind not in AGENCY_KINDS:
            raise ValueError(f"unknown agency kind {self.agency_kind!r}")
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}")
        if self.capacity < 0 or self.caseload < 0:
            raise ValueError("capacity and caseload cannot be negative")
        if self.radius_km < 0:
            raise ValueError("radius_km cannot be negative")
        if self.age is not None and not 0 <= self.age < 130:
            raise ValueError(f"implausible age {self.age}")

    @property
    def effective_capacity(self) -> int:
        """Own capacity, no more than the level's cap."""
        return effective_capacity(self.capacity, self.level_cap)

    @property
    def capacity_left(self) -> int:
        return max(0, self.effective_capacity - self.caseload)

    @property
    def age_band(self) -> int | None:
        return None if self.age is None else age_band(self.age)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Mentor:
        """Build from a stored row or an API body (``location`` as {lat, lon}, ISO dates).

        Unknown keys are ignored; a missing required field raises ``TypeError``.
        """
        fields_ = dict(value)
        fields_["location"] = Location.from_dict(fields_.get("location"))
        if isinstance(fields_.get("certified_until"), str):
            fields_["certified_until"] = date.fromisoformat(fields_["certified_until"])
        known = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in fields_.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, the inverse of ``from_dict``."""
        return {
            "id": self.id, "agency_id": self.agency_id, "display_name": self.display_name,
            "languages": sorted(self.languages), "gender": self.gender, "age": self.age,
            "pathways": sorted(self.pathways), "lived_experience": sorted(self.lived_experience),
            "location": self.location and self.location.to_dict(), "radius_km": self.radius_km,
            "remote_ok": self.remote_ok, "availability": sorted(self.availability),
            "capacity": self.capacity, "caseload": self.caseload,
            "certified_until": self.certified_until.isoformat(), "active": self.active,
            "agency_kind": self.agency_kind, "level": self.level, "supervisor": self.supervisor,
        }


@dataclass(frozen=True, kw_only=True)
class ReferralCriteria:
    """What matching may know about a referral: needs, preferences and the consented peer groups.

    ``allowed_agencies`` and ``allowed_classes`` are the peer groups the consent covers: a mentor
    qualifies when their agency is listed or their agency's kind is (``peer_group`` = any).
    """

    referral_id: str
    referrer_agency_id: str
    languages: frozenset[str]
    urgency: str = "routine"
    allowed_agencies: frozenset[str] = field(default_factory=frozenset)
    allowed_classes: frozenset[str] = field(default_factory=frozenset)
    mentor_gender: str | None = None
    mentor_gender_required: bool = False
    pathways: frozenset[str] = field(default_factory=frozenset)
    lived_experience: frozenset[str] = field(default_factory=frozenset)
    age_band: int | None = None
    location: Location | None = None
    remote_ok: bool = True
    availability: frozenset[str] = field(default_factory=frozenset)
    # False when the consent did not cover substance-use for the network: lived experience and
    # the medication-assisted pathway were not shared, and explanations say so.
    substance_use_shared: bool = True

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "languages", _tags(self.languages))
        put(self, "lived_experience", _lived(self.lived_experience))
        put(self, "mentor_gender", (self.mentor_gender or "").strip().lower() or None)
        put(self, "pathways", _closed("pathways", self.pathways, PATHWAYS))
        put(self, "availability", _closed("availability slots", self.availability, SLOTS))
        put(self, "allowed_agencies", frozenset(self.allowed_agencies))
        put(self, "allowed_classes", _closed("classes", self.allowed_classes, AGENCY_KINDS))
        if not self.languages:
            raise ValueError("a referral needs at least one language")
        if self.urgency not in URGENCIES:
            raise ValueError(f"unknown urgency {self.urgency!r}")
        if not self.mentor_gender:  # a requirement without a preference means nothing
            put(self, "mentor_gender_required", False)
        if self.age_band is not None and (self.age_band < 0 or self.age_band % AGE_BAND_YEARS):
            raise ValueError(f"age_band must be a multiple of {AGE_BAND_YEARS}: {self.age_band}")

    @classmethod
    def from_requested(cls, payload: Mapping[str, Any]) -> ReferralCriteria:
        """Read a validated ``referral.requested`` (v2) payload, or criteria stored from v1 (which
        shared everything it had)."""
        c, allowed = payload["criteria"], payload["allowed"]
        return cls(
            referral_id=payload["referral_id"],
            referrer_agency_id=payload["referrer_agency_id"],
            urgency=payload["urgency"],
            allowed_agencies=allowed.get("agencies") or (),
            allowed_classes=allowed.get("classes") or (),
            languages=c["languages"],
            mentor_gender=c.get("mentor_gender"),
            mentor_gender_required=bool(c.get("mentor_gender_required", False)),
            pathways=c.get("pathways") or (),
            lived_experience=c.get("lived_experience") or (),
            age_band=c.get("age_band"),
            location=Location.from_dict(c.get("location")),
            remote_ok=bool(c.get("remote_ok", True)),
            availability=c.get("availability") or (),
            substance_use_shared=bool(c.get("substance_use_shared", True)),
        )

    def to_requested_fields(self) -> dict[str, Any]:
        """The ``referral_id``, ``referrer_agency_id``, ``urgency``, ``allowed`` and ``criteria``
        fields of a ``referral.requested`` payload (the caller adds participant and consent ids)."""
        return {
            "referral_id": self.referral_id,
            "referrer_agency_id": self.referrer_agency_id,
            "urgency": self.urgency,
            "allowed": {"agencies": sorted(self.allowed_agencies),
                        "classes": sorted(self.allowed_classes)},
            "criteria": {
                "languages": sorted(self.languages),
                "mentor_gender": self.mentor_gender,
                "mentor_gender_required": self.mentor_gender_required,
                "pathways": sorted(self.pathways),
                "lived_experience": sorted(self.lived_experience),
                "age_band": self.age_band,
                "location": self.location and self.location.to_dict(),
                "remote_ok": self.remote_ok,
                "availability": sorted(self.availability),
                "substance_use_shared": self.substance_use_shared,
            },
        }
