"""The outcomes service on real RabbitMQ, SQLite and PostgreSQL: the seeded history published as
events (shuffled, one twice) becomes the hand-computed tables; a replay of its event log rebuilds
the same read model; only funders, admins (their own agency) and the operator read reports; the
command line prints the same report with a progress bar for the rebuild; the events the workers
hold at once are logged in one transaction."""

from __future__ import annotations

import random

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, func, select, text

from services.kit import broker, cli, topology
from services.kit.errors import Forbidden, InvalidRequest
from services.outcomes.adapters.orm import (
    consent_endings,
    consent_refusals,
    outcome_events,
    referral_outcomes,
)
from services.outcomes.service import OutcomesService
from tests.integration.migrated import migrated
from tests.support import wait_for
from tests.unit.outcomes.history import AS_OF, K, seeded_history
from tests.unit.outcomes.test_outcomes_tables import tables

FUNDER = {"agency_id": "f-1", "kind": "funder", "roles": ["funder"], "actor": "key:reports"}
OPERATOR = {"agency_id": "o-1", "kind": "operator", "roles": ["operator"]}
PEER_ADMIN = {"agency_id": "g-1", "kind": "peer_group", "roles": ["admin"]}
OTHER_ADMIN = {"agency_id": "c-9", "kind": "clinic", "roles": ["admin"]}
REFERRER = {"agency_id": "h-1", "kind": "hospital", "roles": ["referrer"]}


@pytest.fixture
def outcomes_url(database_url, tmp_path, request):
    if database_url.startswith("sqlite"):
        return migrated("outcomes", f"sqlite:///{tmp_path / 'outcomes.db'}")
    return migrated("outcomes", request.getfixturevalue("postgres_databases")())


@pytest.fixture
def outcomes(rabbit_config, outcomes_url, container_factory, tmp_path):
    clock = tmp_path / "clock"
    clock.write_text(AS_OF.isoformat())
    config = {**rabbit_config, "DATABASE_URL": outcomes_url, "OUTBOX_POLL_SECONDS": 0.2, "OUTCOMES_K": K,
              "CLOCK_FILE": str(clock), "EVENT_RETRY": {"max_attempts": 3, "base_delay_ms": 20}}
    container_factory(OutcomesService, config).start()
    with ServiceRpcProxy("outcomes", rabbit_config, timeout=15) as proxy:
        yield proxy


def snapshot(url: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(referral_outcomes)
                                                           .order_by(referral_outcomes.c.referral_id))]
            ends = [dict(r._mapping) for r in conn.execute(select(consent_endings)
                                                           .order_by(consent_endings.c.event_id))]
            logged = conn.execute(select(func.count()).select_from(outcome_events)).scalar_one()
            refused = [dict(r._mapping) for r in conn.execute(select(consent_refusals)
                                                              .order_by(consent_refusals.c.event_id))]
        return rows, ends, logged, refused
    finally:
        engine.dispose()


def publish_history(amqp_uri: str) -> list:
    events = seeded_history()
    sent = events[:]
    random.Random(18).shuffle(sent)
    for event in [*sent, sent[0]]:  # one delivered twice
        broker.publish(amqp_uri, event.to_message(), exchange=topology.EVENTS, routing_key=event.type)
    return events


def test_events_become_the_tables_and_a_replay_rebuilds_them(outcomes, rabbit_config, outcomes_url):
    events = publish_history(rabbit_config["AMQP_URI"])
    wait_for(lambda: snapshot(outcomes_url)[2] == len(events), what="every event logged once")
    report = outcomes.report(FUNDER, {})
    assert report["scope"] == "network" and report["k"] == K
    assert {t["measure"]: t["rows"] for t in report["tables"]} == tables()
    live = snapshot(outcomes_url)
    assert len(live[0]) == 9 and len(live[1]) == 4 and len(live[3]) == 8
    assert {r["reason"] for r in live[3]} == {"expired", "revoked", "data_class_not_covered"}

    assert outcomes.rebuild(OPERATOR) == {"events": len(events), "referrals": 9, "consent_endings": 4,
                                          "consent_refusals": 8}
    assert snapshot(outcomes_url) == live
    assert outcomes.report(FUNDER, {}) == report
    with pytest.raises(Forbidden):
        outcomes.rebuild(FUNDER)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_events_the_workers_hold_at_once_share_a_transaction(outcomes, rabbit_config, outcomes_url):
    events = publish_history(rabbit_config["AMQP_URI"])
    wait_for(lambda: snapshot(outcomes_url)[2] == len(events), what="every event logged once")
    engine = create_engine(outcomes_url)
    try:
        with engine.connect() as conn:  # a row's xmin is the transaction that wrote it
            transactions = conn.execute(text("SELECT count(DISTINCT xmin::text) FROM outcome_events"))\
                .scalar_one()
    finally:
        engine.dispose()
    assert transactions <= len(events) // 2
    assert {t["measure"]: t["rows"] for t in outcomes.report(FUNDER, {})["tables"]} == tables()


def test_who_reads_which_view(outcomes, rabbit_config, outcomes_url):
    events = publish_history(rabbit_config["AMQP_URI"])
    wait_for(lambda: snapshot(outcomes_url)[2] == len(events), what="every event logged once")
    mine = outcomes.report(PEER_ADMIN, {"measure": "referrals_made,consent_endings,consent_refusals",
                                        "by": "urgency"})
    assert mine["scope"] == "agency"
    made, ended, refused = mine["tables"]
    assert made["rows"][-1] == {"month": "all", "group": "all", "category": "all", "count": 7}
    assert ended["rows"] == [] and refused["rows"] == []  # refused before any peer group was chosen
    referrer_admin = {**REFERRER, "roles": ["admin"]}
    assert outcomes.report(referrer_admin, {"measure": "consent_refusals"})["tables"][0]["rows"][-1] == {
        "month": "all", "group": "all", "category": "expired", "count": 3}
    assert [t["rows"] for t in outcomes.report(OTHER_ADMIN, {"measure": "referrals_made"})["tables"]] == [[]]
    assert outcomes.report(OPERATOR, {"from": "2026-02", "to": "2026-02", "measure": "referrals_made"})[
        "tables"][0]["rows"] == [{"month": "2026-02", "group": "all", "category": "all", "count": 3},
                                 {"month": "all", "group": "all", "category": "all", "count": 3}]
    with pytest.raises(Forbidden):
        outcomes.report(REFERRER, {})
    with pytest.raises(InvalidRequest) as bad:
        outcomes.report(FUNDER, {"from": "2026-13", "by": "participant"})
    assert set(bad.value.errors) == {"from", "by"}


def test_the_command_line_rebuilds_with_a_progress_bar_and_prints_the_report(
        rabbit_config, outcomes_url, outcomes, tmp_path, capsys):
    events = publish_history(rabbit_config["AMQP_URI"])
    wait_for(lambda: snapshot(outcomes_url)[2] == len(events), what="every event logged once")
    config = tmp_path / "outcomes.yml"
    config.write_text(f"DATABASE_URL: {outcomes_url}\nOUTCOMES_K: {K}\n")
    before = snapshot(outcomes_url)
    argv = ["report", "--config", str(config), "--rebuild", "--csv", "--measure", "referrals_made"]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert f"] {len(events)}/{len(events)} events" in err and "#" * 40 in err
    assert out.splitlines()[0] == "measure,month,group,category,figure,value"
    assert "referrals_made,2026-01,all,all,count,4" in out.splitlines()
    assert cli.main(["report", "--config", str(config), "--csv", "--measure", "consent_refusals"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[1:] == ["consent_refusals,2026-03,all,expired,count,3",
                                    "consent_refusals,all,all,expired,count,3"]
    assert snapshot(outcomes_url) == before
    assert cli.main(["report", "--config", str(config), "--by", "participant"]) == 2


def test_the_command_line_reports_only_from_a_migrated_database_and_never_migrates_it(tmp_path, capsys):
    unmigrated = tmp_path / "outcomes.db"
    config = tmp_path / "outcomes.yml"
    config.write_text(f"DATABASE_URL: sqlite:///{unmigrated}\nOUTCOMES_K: {K}\n")

    assert cli.main(["report", "--config", str(config), "--csv"]) == 2
    _, err = capsys.readouterr()
    assert "was never migrated" in err and "referral-network migrate outcomes" in err
    engine = create_engine(f"sqlite:///{unmigrated}")
    with engine.connect() as connection:  # the report left the database as it found it
        assert connection.exec_driver_sql("SELECT name FROM sqlite_master").all() == []
    engine.dispose()
