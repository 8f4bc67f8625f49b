"""The real repository on a throwaway SQLite file, one sealed cell altered: that referral only degrades."""

from __future__ import annotations

import base64
import logging

import pytest
from handler_fakes import NOW, FakeConsent, asking, request_command
from referral_builders import REFERRER
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from services.kit.crypto import KeyRing, generate_key
from services.kit.db import make_engine
from services.kit.dependencies import WorkerUnitOfWork
from services.kit.errors import Conflict
from services.referrals.adapters.orm import metadata, referral_history
from services.referrals.adapters.repository import referral_repositories
from services.referrals.domain import Referral
from services.referrals.domain.commands import CancelReferral
from services.referrals.domain.unreadable import UnreadableReferral
from services.referrals.handlers import commands


@pytest.fixture
def uow(tmp_path):
    ring = KeyRing([("k1", base64.b64decode(generate_key()))])
    engine = make_engine(f"sqlite:///{tmp_path / 'referrals.db'}")
    metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False, info={"metadata": metadata})
    return WorkerUnitOfWork(factory, source="referrals", consumer="referrals.test",
                            repositories=lambda session: referral_repositories(session, ring))


def test_a_moved_history_reason_makes_only_its_referral_unreadable(uow, caplog):
    consent = FakeConsent(uow)
    first, second = (commands.create_referral(request_command(), uow, consent, NOW)["id"] for _ in range(2))
    for referral_id in (first, second):
        commands.cancel_referral(CancelReferral(asking(REFERRER), referral_id, "duplicate"), uow, NOW)
    with uow:
        token = uow.session.execute(select(referral_history.c.reason)
                                    .where(referral_history.c.id == f"{first}:1")).scalar_one()
        # The first referral's reason copied onto the second's: a valid token, sealed for another row.
        uow.session.execute(update(referral_history).where(referral_history.c.id == f"{second}:1")
                            .values(reason=token))
        uow.commit()
    caplog.set_level(logging.ERROR, logger="services.referrals")

    with uow:
        items, _ = uow.referrals.page(agency_id=None, status=None, cursor=None, limit=10)
        by_id = {item.id: item for item in items}
        assert isinstance(by_id[first], Referral)
        assert isinstance(by_id[second], UnreadableReferral) and by_id[second].status == "cancelled"
        with pytest.raises(Conflict, match="integrity check"):
            uow.referrals.get(second)
        assert uow.referrals.get(first).reason
    alerts = [r.getMessage() for r in caplog.records if "integrity alert" in r.getMessage()]
    assert alerts == [f"integrity alert: referral_history row {second}:1 failed its integrity check "
                      "and cannot be read"] * 2  # the listing, then the read
