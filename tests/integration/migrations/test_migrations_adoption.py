"""Every service's migrations, on SQLite and PostgreSQL: fresh databases, pre-migration ones, drift."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

from services.kit import migrations, revisions
from services.kit.db import make_engine
from tests.integration.migrations import pre_migration

SERVICES = migrations.SERVICES
# The gateway's env.py with one change to its models: agencies gain a website.
CHANGED_ENV = """
from alembic import context
from sqlalchemy import Column, MetaData, String

from gateway.adapters.orm import metadata
from services.kit.migrations import run_migrations

changed = MetaData()
for table in metadata.sorted_tables:
    table.to_metadata(changed)
changed.tables["agencies"].append_column(Column("website", String(200), nullable=True))
run_migrations(context, changed)
"""


@pytest.mark.parametrize("service", SERVICES)
def test_a_fresh_database_is_built_to_head_and_matches_the_models(service, database_url):
    done = migrations.upgrade(service, database_url)

    assert (done.before, done.after, done.adopted) == (None, migrations.head(service), False)
    assert migrations.current(database_url) == migrations.head(service)
    assert migrations.check(service, database_url) == []


# The services whose databases existed before migrations began (engagement started with them).
@pytest.mark.parametrize("service", tuple(pre_migration.ROWS))
def test_a_pre_migration_database_is_adopted_at_head_without_losing_a_row(service, database_url):
    before = pre_migration.build(service, database_url)

    done = migrations.upgrade(service, database_url)

    assert done.adopted and done.before is None and done.after == migrations.head(service)
    assert pre_migration.read(service, database_url, before) == before
    assert all(before.values())  # every table really held a row
    assert migrations.check(service, database_url) == []


def test_migrating_again_changes_nothing(database_url):
    pre_migration.build("matching", database_url)
    migrations.upgrade("matching", database_url)

    again = migrations.upgrade("matching", database_url)

    head = migrations.head("matching")
    assert (again.before, again.after, again.adopted) == (head, head, False)


def test_a_database_whose_tables_differ_from_the_models_is_refused_and_left_alone(database_url):
    before = pre_migration.build("notifications", database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_deliveries_due"))
    engine.dispose()

    with pytest.raises(migrations.MigrationError) as refused:
        migrations.upgrade("notifications", database_url)

    assert "notifications" in str(refused.value) and "ix_deliveries_due" in str(refused.value)
    assert migrations.current(database_url) is None  # not stamped
    assert pre_migration.read("notifications", database_url, before) == before


def test_check_reports_drift_between_the_models_and_a_migrated_database(database_url):
    migrations.upgrade("consent", database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE consent_notes (id INTEGER PRIMARY KEY)"))
    engine.dispose()

    differences = migrations.check("consent", database_url)

    assert len(differences) == 1 and "consent_notes" in differences[0]


def test_check_refuses_a_database_behind_head(database_url):
    with pytest.raises(migrations.SchemaNotCurrent, match="referral-network migrate referrals"):
        migrations.check("referrals", database_url)


def test_a_name_without_migrations_is_refused():
    with pytest.raises(migrations.MigrationError, match="no migrations"):
        migrations.head("billing")


def test_a_change_to_the_models_becomes_a_revision_that_alters_a_table_holding_data(
        database_url, tmp_path, monkeypatch):
    before = pre_migration.build("gateway", database_url)
    migrations.upgrade("gateway", database_url)
    shutil.copytree(migrations.script_location("gateway"), tmp_path / "migrations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "migrations" / "env.py").write_text(CHANGED_ENV)
    monkeypatch.setattr(revisions, "script_location", lambda service: tmp_path / "migrations")

    head = migrations.head("gateway")
    written = migrations.revision("gateway", database_url, "Agencies: a website")
    done = migrations.upgrade("gateway", database_url)

    following = f"{int(head) + 1:04d}"
    assert written.name == f"{following}_agencies_a_website.py" and "add_column" in written.read_text()
    assert (done.before, done.after) == (head, following)
    assert migrations.check("gateway", database_url) == []  # the database has the new column
    assert pre_migration.read("gateway", database_url, before) == before
