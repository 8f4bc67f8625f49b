"""A referral row altered in the database (SQLite and PostgreSQL) degrades its own listing entry only."""

from __future__ import annotations

import base64
import logging

import pytest
from sqlalchemy import select, update

from services.kit.db import make_engine
from services.kit.errors import Conflict
from services.referrals.adapters.orm import referrals as referrals_table
from tests.integration.referrals.referral_support import HOSPITAL, REASON, grant_request, referral_request


def tamper_reason(database_url: str, referral_id: str) -> None:
    """Flip one byte of the sealed reason, as a corrupted disk or a hand edit would."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            token = conn.execute(
                select(referrals_table.c.reason).where(referrals_table.c.id == referral_id)).scalar_one()
            prefix, key_id, body = token.split(".", 2)
            raw = bytearray(base64.urlsafe_b64decode(body))
            raw[-1] ^= 0x01
            altered = f"{prefix}.{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"
            conn.execute(update(referrals_table).where(referrals_table.c.id == referral_id)
                         .values(reason=altered))
    finally:
        engine.dispose()


def every_item(referrals, caller) -> list[dict]:
    items, page = [], None
    while True:
        result = referrals.list(caller, page=page)
        items += result["items"]
        if not (page := result["next_page"]):
            return items


def test_a_tampered_referral_is_listed_as_unreadable_and_the_rest_is_whole(
    referrals, consent, referrals_config, caplog
):
    record = consent.grant(HOSPITAL, grant_request())
    ids = [referrals.create(HOSPITAL, referral_request(record))["id"] for _ in range(3)]
    tamper_reason(referrals_config["DATABASE_URL"], ids[1])
    caplog.set_level(logging.ERROR, logger="services.referrals")

    items = {item["id"]: item for item in every_item(referrals, HOSPITAL)}  # page size 2: two pages

    assert set(items) == set(ids)
    damaged = items[ids[1]]
    assert damaged["integrity"] == "unreadable" and damaged["status"] == "requested"
    assert "reason" not in damaged and "needs" not in damaged and damaged["history"] == []
    for whole in (items[ids[0]], items[ids[2]]):
        assert "integrity" not in whole and whole["reason"] == REASON
    alerts = [r for r in caplog.records if "integrity alert" in r.getMessage()]
    assert [r.getMessage() for r in alerts] == [
        f"integrity alert: referrals row {ids[1]} failed its integrity check and cannot be read"]
    assert all(r.exc_info is None for r in alerts)  # one line per row, no traceback

    with pytest.raises(Conflict) as refused:
        referrals.get(HOSPITAL, ids[1])
    assert "integrity check" in refused.value.detail
    assert referrals.get(HOSPITAL, ids[0])["reason"] == REASON
