"""Builders for mentors and referral criteria: the defaults form a pair that every rule allows."""

from __future__ import annotations

import random
from datetime import date, timedelta

from services.kit.vocabulary import PATHWAYS, SLOTS
from services.matching.domain import Location, Mentor, ReferralCriteria

TODAY = date(2026, 11, 2)
HARBOR = "agency-harbor-peers"
DOWNTOWN = Location(40.71, -74.00)
LANGUAGES = ("en", "es", "zh", "ht")
LIVED = ("alcohol", "opioids", "stimulants", "cannabis", "gambling", "mental-health")


def mentor(**overrides) -> Mentor:
    fields = dict(
        id="mentor-1", agency_id=HARBOR, display_name="Maria P.", languages={"es", "en"},
        gender="female", age=41, pathways={"12-step", "faith-based"},
        lived_experience={"opioids", "alcohol"}, location=Location(40.73, -73.99), radius_km=15,
        remote_ok=True, availability={"mon-evening", "sat-morning"}, capacity=3, caseload=0,
        certified_until=date(2027, 6, 30), active=True,
    )
    fields.update(overrides)
    return Mentor(**fields)


def criteria(**overrides) -> ReferralCriteria:
    fields = dict(
        referral_id="referral-1", referrer_agency_id="agency-st-mary", urgency="routine",
        allowed_agencies={HARBOR}, allowed_classes=set(), languages={"es", "en"},
        mentor_gender="female", mentor_gender_required=False, pathways={"12-step"},
        lived_experience={"opioids"}, age_band=35, location=DOWNTOWN, remote_ok=True,
        availability={"mon-evening", "sat-morning"},
    )
    fields.update(overrides)
    return ReferralCriteria(**fields)


def _some(rng: random.Random, items, low: int, high: int) -> set:
    return set(rng.sample(items, rng.randint(low, high)))


def _near(rng: random.Random) -> Location:
    return Location(40.7 + rng.uniform(-0.3, 0.3), -74.0 + rng.uniform(-0.3, 0.3))


def random_mentors(rng: random.Random, n: int, agencies: int = 5) -> list[Mentor]:
    """Varied mentors, including every way of being excluded and every missing field."""
    return [
        mentor(
            id=f"mentor-{i:04d}", agency_id=f"agency-{rng.randrange(agencies)}",
            agency_kind=rng.choice(("peer_group",) * 9 + ("clinic",)),
            languages=_some(rng, LANGUAGES, 1, 2),
            gender=rng.choice(("female", "male", "nonbinary", None)),
            age=rng.choice((None, *range(22, 75))), pathways=_some(rng, PATHWAYS, 0, 2),
            lived_experience=_some(rng, LIVED, 0, 3),
            location=None if rng.random() < 0.1 else _near(rng),
            radius_km=rng.uniform(0, 40), remote_ok=rng.random() < 0.4,
            availability=_some(rng, SLOTS, 0, 10), capacity=rng.randint(0, 3),
            caseload=rng.randint(0, 2), active=rng.random() < 0.9,
            certified_until=TODAY + timedelta(days=rng.randint(-30, 300)),
        )
        for i in range(n)
    ]


def random_referrals(rng: random.Random, n: int, agencies: int = 5) -> list[ReferralCriteria]:
    """Varied referrals: wide and narrow consents, stated and unstated preferences."""
    referrals = []
    for i in range(n):
        gender = rng.choice(("female", "male", None))
        location = None if rng.random() < 0.1 else _near(rng)
        referrals.append(criteria(
            referral_id=f"referral-{i:04d}", languages=_some(rng, LANGUAGES, 1, 2),
            allowed_agencies={f"agency-{a}" for a in _some(rng, range(agencies), 0, 3)},
            allowed_classes={"peer_group"} if rng.random() < 0.5 else set(),
            mentor_gender=gender, mentor_gender_required=rng.random() < 0.3,
            pathways=_some(rng, PATHWAYS, 0, 2), lived_experience=_some(rng, LIVED, 0, 2),
            age_band=rng.choice((None, *range(20, 70, 5))),
            location=location and Location(round(location.lat, 2), round(location.lon, 2)),
            remote_ok=rng.random() < 0.5, availability=_some(rng, SLOTS, 0, 6),
        ))
    return referrals
