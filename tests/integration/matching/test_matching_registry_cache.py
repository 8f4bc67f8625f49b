"""The cached mentor registry against the database it copies: it picks exactly the mentor a
fresh read picks, a stale copy never gets a mentor proposed who no longer fits, and a mentor it
cannot hold at their latest details is never picked from it.
Handlers and adapters on a real database (SQLite and PostgreSQL), no broker."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from services.kit.db import make_engine
from services.kit.unit_of_work import UnitOfWork
from services.matching import handlers
from services.matching.adapters import repositories
from services.matching.adapters.orm import matches, mentors, metadata
from services.matching.adapters.registry_cache import CachedRegistry, StaleRegistry, mentor_table
from services.matching.domain.policy import MatchingPolicy
from tests.unit.matching.matching_builders import (
    TODAY,
    criteria,
    mentor,
    random_mentors,
    random_referrals,
)

NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
POLICY = MatchingPolicy()


@pytest.fixture
def unit_of_work(database_url):
    engine = make_engine(database_url)
    metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})
    yield lambda: UnitOfWork(factory, source="matching", repositories=repositories)
    engine.dispose()


def _register(unit_of_work, registered) -> None:
    """Register mentors with the caseloads they were built with (some already have people)."""
    with unit_of_work() as uow:
        for m in registered:
            uow.mentors.add(m, NOW)
            uow.session.execute(update(mentors).where(mentors.c.id == m.id)
                                .values(caseload=min(m.caseload, m.capacity)))
        uow.commit()


def _requested(referral) -> SimpleNamespace:
    """A ``referral.requested`` event as the handler sees it."""
    payload = {**referral.to_requested_fields(), "participant_id": "p-1", "consent_id": "c-1"}
    return SimpleNamespace(payload=payload)


def test_cached_pick_is_the_pick_of_a_fresh_read(unit_of_work):
    rng = random.Random(20261102)
    _register(unit_of_work, random_mentors(rng, 300))
    referrals = random_referrals(rng, 120)
    cache = CachedRegistry(POLICY.weights)
    # Half the referrals arrive first: their proposals hold places the picks below must count.
    for referral in referrals[:60]:
        with unit_of_work() as uow:
            handlers.on_referral_requested(_requested(referral), uow, POLICY, NOW, cache)
            uow.commit()
    with unit_of_work() as uow:
        registry = uow.mentors
        assert uow.session.execute(select(matches.c.id)).first() is not None
        fresh = mentor_table(registry.open_mentors(TODAY), POLICY.weights)
        picked = 0
        for referral in referrals[60:]:
            expected = fresh.pick(referral, today=TODAY)
            got = cache.pick(registry, referral, today=TODAY, exclude=set())
            assert (got and got.id) == (expected and expected.mentor_id), referral.referral_id
            picked += got is not None
    assert picked > 20  # the comparison covered real picks, not only "nobody fits"


def test_a_stale_cached_registry_never_proposes_a_mentor_who_no_longer_fits(unit_of_work):
    _register(unit_of_work, [mentor(id="best"),
                             mentor(id="second", lived_experience={"alcohol"})])
    cache = CachedRegistry(POLICY.weights)
    with unit_of_work() as uow:
        cache.refresh(uow.mentors)
    with unit_of_work() as uow:  # another replica deactivates the best mentor
        best = uow.mentors.get("best").mentor
        assert uow.mentors.change(replace(best, active=False), {"active"}, NOW)
        uow.commit()
    cache.refresh = lambda _registry: None  # this replica has not caught up yet

    with unit_of_work() as uow, pytest.raises(StaleRegistry):
        cache.pick(uow.mentors, criteria(), today=TODAY, exclude=set())
    with unit_of_work() as uow:
        handlers.on_referral_requested(_requested(criteria()), uow, POLICY, NOW, cache)
        proposed = uow.session.execute(select(matches.c.mentor_id)).scalars().all()
        uow.commit()
    assert proposed == ["second"]


def test_a_mentor_the_cache_cannot_hold_at_their_latest_details_is_never_picked_from_the_cache(unit_of_work):
    _register(unit_of_work, [mentor(id="best")])
    cache = CachedRegistry(POLICY.weights)
    with unit_of_work() as uow:
        cache.refresh(uow.mentors)
        assert cache.pick(uow.mentors, criteria(), today=TODAY, exclude=set()).id == "best"
    with unit_of_work() as uow:  # more distinct languages than the cache's masks hold
        best = uow.mentors.get("best").mentor
        languages = (*best.languages, *(f"x-{a}{b}" for a in "abcdefghij" for b in "abcdefg"))
        assert uow.mentors.change(replace(best, languages=languages), {"languages"}, NOW)
        uow.commit()
    with unit_of_work() as uow:
        cache.refresh(uow.mentors)  # logs that the mentor is left out; the table keeps the older details
        assert cache.version == uow.mentors.version() and not cache.holds_current("best", cache.version)
        # The older details are never taken for the current ones: the handler reads afresh.
        with pytest.raises(StaleRegistry):
            cache.pick(uow.mentors, criteria(), today=TODAY, exclude=set())
