"""How well a mentor fits a referral: hard rules that exclude, soft factors that rank.

This is the reference scorer, one pair at a time; ``MentorTable`` computes the same numbers for
many mentors at once and is tested against it. Every soft factor scores 0..1; the total is the
weighted mean, and the explanation lists each factor's normalised weight, score and contribution
(``weight * score``), which add up to the total, so a coordinator sees why a mentor was proposed.
When the referral states nothing about a factor, the factor scores ``NEUTRAL`` for every mentor.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from datetime import date

from services.matching.domain.geo import haversine_km
from services.matching.domain.model import AGE_BAND_YEARS, Mentor, ReferralCriteria

FACTORS = ("pathway", "lived_experience", "age", "availability", "distance", "gender")
# Factors whose criteria reveal substance use: without ``substance-use`` in the consent they are
# scored on what was shared (lived experience: nothing, so NEUTRAL) and explained as not shared.
SUBSTANCE_USE_FACTORS = frozenset({"pathway", "lived_experience"})
NEUTRAL = 0.5
AGE_SPAN_BANDS = 4  # bands four or more apart (20 years) score 0
DISTANCE_SCALE_KM = 30.0  # a mentor this far away or further scores 0 on distance
HEAVY_SLOT_WEIGHT = 2  # evenings and weekends: when people in early recovery most need someone

# Hard rules, in the order they are checked; the codes are stable, coordinators see them.
HARD_RULES = (
    "excluded", "inactive", "certification_expired", "no_capacity",
    "agency_not_allowed", "no_shared_language", "gender_required", "outside_radius",
)


@dataclass(frozen=True)
class Weights:
    """Relative importance of each soft factor; only the ratios matter."""

    pathway: float = 0.25
    lived_experience: float = 0.20
    age: float = 0.10
    availability: float = 0.20
    distance: float = 0.15
    gender: float = 0.10

    def __post_init__(self) -> None:
        values = astuple(self)
        if any(w < 0 for w in values) or sum(values) <= 0:
            raise ValueError(f"weights must be >= 0 and not all zero: {values}")

    @classmethod
    def from_dict(cls, config: Mapping[str, float] | None) -> Weights:
        """Defaults overridden by ``config``; an unknown factor name raises ``ValueError``."""
        config = dict(config or {})
        unknown = set(config) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown matching factors: {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in config.items()})

    def normalized(self) -> tuple[float, ...]:
        """Weights in ``FACTORS`` order, scaled to sum to 1."""
        values = astuple(self)
        total = sum(values)
        return tuple(w / total for w in values)


DEFAULT_WEIGHTS = Weights()


LEVEL_CAP = "level_cap"  # the explanation item saying a mentor's level caps their caseload


@dataclass(frozen=True)
class ExplanationItem:
    factor: str
    weight: float
    score: float
    contribution: float
    shared: bool = True  # False: the consent did not let this factor's criteria reach matching
    # ``LEVEL_CAP`` only: the mentor's level, its cap, their own capacity and current caseload.
    limits: tuple[tuple[str, str | int], ...] = ()

    def to_dict(self) -> dict[str, float | str | bool | int]:
        """The ``ExplanationItemSchema`` shape of the event contract."""
        return {"factor": self.factor, "weight": self.weight, "score": self.score,
                "contribution": self.contribution, "shared": self.shared, **dict(self.limits)}


def level_cap_item(mentor: Mentor) -> ExplanationItem | None:
    """An item telling that the mentor's level caps their caseload (the cap is below their own
    capacity), with the level, the cap, the capacity and the current load; None otherwise. It
    adds nothing to the score (weight, score and contribution 0)."""
    if mentor.level is None or mentor.level_cap is None or mentor.level_cap >= mentor.capacity:
        return None
    return ExplanationItem(LEVEL_CAP, 0.0, 0.0, 0.0, True, (
        ("level", mentor.level), ("cap", mentor.level_cap), ("capacity", mentor.capacity),
        ("caseload", mentor.caseload)))


def slot_weight(slot: str) -> int:
    """Evening and weekend slots count ``HEAVY_SLOT_WEIGHT`` times a weekday daytime slot."""
    heavy = slot.endswith("-evening") or slot.startswith(("sat-", "sun-"))
    return HEAVY_SLOT_WEIGHT if heavy else 1


def exclusion_reasons(
    mentor: Mentor, criteria: ReferralCriteria, *, today: date,
    excluded: Collection[str] = frozenset(),
) -> tuple[str, ...]:
    """Every hard rule (codes from ``HARD_RULES``) that keeps ``mentor`` from this referral.

    Empty means the pair is allowed. ``excluded`` holds mentor ids that must not be proposed
    again, e.g. those who declined this referral or whose proposal expired.
    """
    broken = []
    if mentor.id in excluded:
        broken.append("excluded")
    if not mentor.active:
        broken.append("inactive")
    if mentor.certified_until < today:
        broken.append("certification_expired")
    if mentor.capacity_left <= 0:
        broken.append("no_capacity")
    if not (mentor.agency_id in criteria.allowed_agencies
            or mentor.agency_kind in criteria.allowed_classes):
        broken.append("agency_not_allowed")
    if not mentor.languages & criteria.languages:
        broken.append("no_shared_language")
    if criteria.mentor_gender_required and mentor.gender != criteria.mentor_gender:
        broken.append("gender_required")
    if not (mentor.remote_ok and criteria.remote_ok) and not _within_radius(mentor, criteria):
        broken.append("outside_radius")
    return tuple(broken)


def is_allowed(mentor: Mentor, criteria: ReferralCriteria, *, today: date,
               excluded: Collection[str] = frozenset()) -> bool:
    return not exclusion_reasons(mentor, criteria, today=today, excluded=excluded)


def _distance_km(mentor: Mentor, criteria: ReferralCriteria) -> float | None:
    if mentor.location is None or criteria.location is None:
        return None
    a, b = criteria.location, mentor.location
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


def _within_radius(mentor: Mentor, criteria: ReferralCriteria) -> bool:
    # Without both locations nobody can promise an in-person meeting.
    distance = _distance_km(mentor, criteria)
    return distance is not None and distance <= mentor.radius_km


def _share(wanted: frozenset[str], offered: frozenset[str]) -> float:
    return len(wanted & offered) / len(wanted) if wanted else NEUTRAL


def _availability(wanted: frozenset[str], offered: frozenset[str]) -> float:
    if not wanted:
        return NEUTRAL
    met = sum(slot_weight(s) for s in wanted & offered)
    return met / sum(slot_weight(s) for s in wanted)


def _age(mentor: Mentor, criteria: ReferralCriteria) -> float:
    if criteria.age_band is None or mentor.age_band is None:
        return NEUTRAL
    apart = abs(mentor.age_band - criteria.age_band)
    return max(0.0, 1.0 - apart / (AGE_BAND_YEARS * AGE_SPAN_BANDS))


def _distance(mentor: Mentor, criteria: ReferralCriteria) -> float:
    distance = _distance_km(mentor, criteria)
    return NEUTRAL if distance is None else max(0.0, 1.0 - distance / DISTANCE_SCALE_KM)


def _gender(mentor: Mentor, criteria: ReferralCriteria) -> float:
    if criteria.mentor_gender is None:
        return NEUTRAL
    return 1.0 if mentor.gender == criteria.mentor_gender else 0.0


def factor_scores(mentor: Mentor, criteria: ReferralCriteria) -> dict[str, float]:
    """Each soft factor's score in 0..1, keyed by ``FACTORS`` name (hard rules not applied)."""
    return {
        "pathway": _share(criteria.pathways, mentor.pathways),
        "lived_experience": _share(criteria.lived_experience, mentor.lived_experience),
        "age": _age(mentor, criteria),
        "availability": _availability(criteria.availability, mentor.availability),
        "distance": _distance(mentor, criteria),
        "gender": _gender(mentor, criteria),
    }


def explain(mentor: Mentor, criteria: ReferralCriteria,
            weights: Weights = DEFAULT_WEIGHTS) -> tuple[ExplanationItem, ...]:
    """The factors behind a pair's score; their contributions sum to ``compatibility``."""
    scores = factor_scores(mentor, criteria)
    withheld = frozenset() if criteria.substance_use_shared else SUBSTANCE_USE_FACTORS
    factors = tuple(
        ExplanationItem(factor, w, scores[factor], w * scores[factor], factor not in withheld)
        for factor, w in zip(FACTORS, weights.normalized(), strict=True)
    )
    capped = level_cap_item(mentor)
    return factors + ((capped,) if capped else ())


def total(explanation: Iterable[ExplanationItem]) -> float:
    """The score an explanation adds up to (summed in ``FACTORS`` order, like the table does)."""
    return sum(item.contribution for item in explanation)


def compatibility(mentor: Mentor, criteria: ReferralCriteria,
                  weights: Weights = DEFAULT_WEIGHTS) -> float:
    """Weighted soft score in 0..1 (hard rules not applied; see ``exclusion_reasons``)."""
    return total(explain(mentor, criteria, weights))


def rank(mentors: Iterable[Mentor], criteria: ReferralCriteria, *, today: date,
         weights: Weights = DEFAULT_WEIGHTS,
         excluded: Collection[str] = frozenset()) -> list[tuple[Mentor, float]]:
    """Allowed mentors, best first; ties go to more capacity left, then the smaller id."""
    scored = [(m, compatibility(m, criteria, weights)) for m in mentors
              if is_allowed(m, criteria, today=today, excluded=excluded)]
    return sorted(scored, key=lambda ms: (-ms[1], -ms[0].capacity_left, ms[0].id))
