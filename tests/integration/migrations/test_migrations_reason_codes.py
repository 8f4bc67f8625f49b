"""Revisions 0003 of referrals and matching keep what was stored before them readable: a history
reason written as words reads ``other``, mentors' lived experience words become codes, a decline
recorded as ``stated`` reads ``other``. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command

from services.kit import migrations
from services.kit.db import make_engine
from services.matching.adapters.orm import matches, mentors
from services.matching.adapters.orm import referrals as matching_referrals
from services.referrals.adapters.orm import handoff_packets, referral_history, referrals

AT = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def at_first_revision(service: str, url: str) -> sa.Engine:
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(migrations._config(service, connection), "0001")
    return engine


def test_referral_history_written_as_words_reads_other(database_url):
    engine = at_first_revision("referrals", database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(referrals).values(
                id="r-1", referrer_agency_id="a-1", participant_id="p-1", consent_id="c-1",
                status="cancelled", urgency="routine", reason="sealed", needs="sealed", waitlisted=False,
                handoff_open=False, created_at=AT, updated_at=AT, version=2))
            connection.execute(sa.insert(referral_history), [
                {"id": "r-1:0", "referral_id": "r-1", "seq": 0, "status": "requested", "at": AT,
                 "by": "a-1", "reason": None, "reason_code": None},
                {"id": "r-1:1", "referral_id": "r-1", "seq": 1, "status": "cancelled", "at": AT,
                 "by": "a-1", "reason": "sealed words", "reason_code": None},
                {"id": "r-1:2", "referral_id": "r-1", "seq": 2, "status": "cancelled", "at": AT,
                 "by": "network", "reason": "sealed code", "reason_code": "consent_revoked"}])
        migrations.upgrade("referrals", database_url)
        with engine.connect() as connection:
            codes = connection.execute(sa.select(referral_history.c.reason_code)
                                       .order_by(referral_history.c.seq)).scalars().all()
            assert codes == [None, "other", "consent_revoked"]
            columns = {c["name"] for c in sa.inspect(connection).get_columns("handoff_packets")}
            assert "data_classes" in columns
            assert connection.execute(sa.select(sa.func.count()).select_from(handoff_packets)).scalar() == 0
        assert migrations.check("referrals", database_url) == []
    finally:
        engine.dispose()


def test_mentors_lived_experience_becomes_codes_and_stated_declines_read_other(database_url):
    engine = at_first_revision("matching", database_url)
    mentor = {"agency_id": "a-2", "agency_kind": "peer_group", "display_name": "M.",
              "languages": ["en"], "pathways": [], "radius_km": 5.0, "remote_ok": True,
              "availability": [], "capacity": 2, "caseload": 0, "active": True,
              "certified_until": date(2030, 1, 1), "created_at": AT, "updated_at": AT,
              "changed_version": 1}
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(mentors), [
                {**mentor, "id": "m-1", "lived_experience": ["Fentanyl", "alcohol", "gardening"]},
                {**mentor, "id": "m-2", "lived_experience": ["opioids"]}])
            connection.execute(sa.insert(matching_referrals).values(
                id="r-1", referrer_agency_id="a-1", participant_id="p-1", consent_id="c-1",
                urgency="routine", allowed={"agencies": [], "classes": []}, blocked_agencies=[],
                requested_at=AT))
            connection.execute(sa.insert(matches).values(
                id="x-1", referral_id="r-1", referrer_agency_id="a-1", mentor_id="m-1",
                mentor_agency_id="a-2", status="declined", score=0.5, explanation=[], urgency="routine",
                proposed_at=AT, expires_at=AT, decided_at=AT, reason_code="stated"))
        migrations.upgrade("matching", database_url)
        with engine.connect() as connection:
            lived = dict(connection.execute(sa.select(mentors.c.id, mentors.c.lived_experience)).all())
            assert lived == {"m-1": ["opioids", "alcohol"], "m-2": ["opioids"]}
            assert connection.execute(sa.select(matches.c.reason_code)).scalar() == "other"
    finally:
        engine.dispose()
