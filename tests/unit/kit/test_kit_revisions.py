"""The revisions a starting service reads without Alembic are Alembic's own, and a service's
process never loads Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from services.kit import migrations, revisions

SERVICE_MODULES = {
    "consent": "services.consent.service", "referrals": "services.referrals.service",
    "matching": "services.matching.service", "notifications": "services.notifications.service",
    "engagement": "services.engagement.service", "outcomes": "services.outcomes.service",
    "gateway": "gateway.service",
}


@pytest.mark.parametrize("service", revisions.SERVICES)
def test_the_head_and_the_revisions_are_alembics(service):
    script = ScriptDirectory.from_config(migrations._config(service))
    assert revisions.head(service) == script.get_current_head()
    assert revisions.revisions(service) == {
        s.revision: tuple(s._versioned_down_revisions) for s in script.walk_revisions()}


def test_no_service_loads_alembic_to_start():
    assert set(SERVICE_MODULES) == set(revisions.SERVICES)
    probe = ("import importlib, sys\n"
             f"for name in {sorted(SERVICE_MODULES.values())!r}:\n"
             "    importlib.import_module(name)\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))\n")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=revisions.ROOT).stdout.strip()
    assert loaded == "[]"


def write_versions(tmp_path: Path, monkeypatch, files: dict[str, str]) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    for name, body in files.items():
        (versions / name).write_text(body)
    monkeypatch.setattr(revisions, "script_location", lambda _service: tmp_path / "migrations")


def test_branches_and_a_merge_are_read_and_two_heads_are_refused(tmp_path, monkeypatch):
    write_versions(tmp_path, monkeypatch, {
        "0001_a.py": "revision = '0001'\ndown_revision = None\n",
        "0002_b.py": "revision: str = '0002'\ndown_revision: str | None = '0001'\n",
        "0003_c.py": "revision = '0003'\ndown_revision = '0001'\n",
        "__init__.py": "",
    })
    with pytest.raises(revisions.MigrationError, match="several heads .*: 0002, 0003"):
        revisions.head("referrals")
    (tmp_path / "migrations" / "versions" / "0004_merge.py").write_text(
        "revision = '0004'\ndown_revision = ('0002', '0003')\n")
    assert revisions.head("referrals") == "0004"
    assert revisions.revisions("referrals")["0004"] == ("0002", "0003")


def test_the_database_revision_is_read_from_its_version_table():
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        assert revisions.database_revision(connection) is None
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        assert revisions.database_revision(connection) is None
        connection.execute(text("INSERT INTO alembic_version VALUES ('0003')"))
        assert revisions.database_revision(connection) == "0003"
        with pytest.raises(revisions.SchemaNotCurrent, match="is at revision 0003; this release needs"):
            revisions.require_head("referrals", connection)
        connection.execute(text("INSERT INTO alembic_version VALUES ('0002')"))
        with pytest.raises(revisions.MigrationError, match="several revisions at once: 0002, 0003"):
            revisions.database_revision(connection)
