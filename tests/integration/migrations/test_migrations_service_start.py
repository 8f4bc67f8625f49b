"""A service starts only on a database at its head revision; `referral-network migrate` gets it there."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from services.kit import cli, migrations
from services.kit.db import make_engine
from services.matching.service import MatchingService
from tests.integration.migrations import pre_migration


@pytest.fixture
def matching_config(rabbit_config, database_url):
    return {**rabbit_config, "DATABASE_URL": database_url, "TIMERS_ENABLED": False}


def test_a_service_refuses_to_start_on_a_database_never_migrated(container_factory, matching_config):
    container = container_factory(MatchingService, matching_config)

    with pytest.raises(migrations.SchemaNotCurrent) as refused:
        container.start()

    message = str(refused.value)
    assert message.startswith("matching: the database was never migrated")
    assert f"needs revision {migrations.head('matching')}" in message
    assert "Run `referral-network migrate matching` first." in message
    assert "sqlite" not in message and "postgres" not in message  # no URL, no credentials


def test_a_service_refuses_a_pre_migration_database_until_it_is_migrated(container_factory, matching_config):
    pre_migration.build("matching", matching_config["DATABASE_URL"])
    with pytest.raises(migrations.SchemaNotCurrent, match="never migrated"):
        container_factory(MatchingService, matching_config).start()

    migrations.upgrade("matching", matching_config["DATABASE_URL"])
    container = container_factory(MatchingService, matching_config)
    container.start()

    assert container.started


def test_a_service_refuses_a_revision_it_does_not_know(container_factory, matching_config):
    migrations.upgrade("matching", matching_config["DATABASE_URL"])
    engine = make_engine(matching_config["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()

    with pytest.raises(migrations.SchemaNotCurrent, match="at revision 0099, which this release does not"):
        container_factory(MatchingService, matching_config).start()


def test_migrate_without_a_service_migrates_every_database_its_config_names(tmp_path, monkeypatch, capsys):
    for service in migrations.SERVICES:
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", f"sqlite:///{tmp_path / service}.db")
    pre_migration.build("referrals", f"sqlite:///{tmp_path / 'referrals'}.db")

    assert cli.main(["migrate"]) == 0
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert cli.main(["migrate", "--check"]) == 0
    checked = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert [(o["service"], o["from"], o["adopted"]) for o in first] == [
        (s, None, s == "referrals") for s in migrations.SERVICES]
    assert [o["to"] for o in first] == [migrations.head(s) for s in migrations.SERVICES]
    assert all(o["differences"] == [] for o in checked) and len(checked) == len(migrations.SERVICES)


def test_migrate_one_service_at_a_given_url_and_report_a_refusal(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    pre_migration.build("gateway", url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    engine.dispose()

    assert cli.main(["migrate", "gateway", "--database-url", url]) == 1
    [outcome] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert outcome["service"] == "gateway"
    assert "not adopted" in outcome["error"] and "notes" in outcome["error"]
    assert migrations.current(url) is None
